//! The `floorbot` command: `run`, `migrate`, `check-config`. Nothing else lives here.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use floorbot::config::{Config, ConfigError, Sources};
use floorbot::telemetry::{self, LogFormat};
use floorbot::{App, Edges};
use tokio_util::sync::CancellationToken;

/// A Telegram bot that runs the floor of an e-commerce customer-service team.
#[derive(Parser)]
#[command(name = "floorbot", version, about)]
struct Cli {
    /// Configuration file (default: floorbot.toml, or FLOORBOT_CONFIG).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Log line format.
    #[arg(long, global = true, value_enum, default_value = "text")]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the bot (long polling).
    Run,
    /// Create or update the database, then exit.
    Migrate,
    /// Print the effective configuration (secrets masked) and warnings, then exit.
    CheckConfig,
}

/// Exit code for an invalid configuration.
const CONFIG_ERROR: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let env = |name: &str| std::env::var(name).ok();
    let config = match Config::load(&Sources { config_flag: cli.config.clone(), env: &env }) {
        Ok(config) => config,
        Err(error) => return config_error(&error),
    };
    let secrets = secrets_of(&config);

    if let Command::CheckConfig = cli.command {
        if let Err(error) = config.require_token() {
            return config_error(&error);
        }
        print!("{}", config.describe());
        for warning in config.warnings() {
            println!("warning: {warning}");
        }
        return ExitCode::SUCCESS;
    }
    if let Command::Run = cli.command
        && let Err(error) = config.require_token()
    {
        return config_error(&error);
    }

    telemetry::init(cli.log_format, secrets.clone());
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("floorbot: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Migrate => {
                floorbot::db::connect_and_migrate(&config.database_url).await?;
                tracing::info!(database = %config.database_url, "database is up to date");
                Ok(())
            }
            Command::Run => {
                for warning in config.warnings() {
                    tracing::warn!("{warning}");
                }
                let app = App::build(config, Edges::default()).await?;
                let shutdown = CancellationToken::new();
                tokio::spawn(stop_on_signal(shutdown.clone()));
                app.run(shutdown).await
            }
            Command::CheckConfig => Ok(()),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("floorbot: {}", telemetry::redact(&format!("{error:#}"), &secrets));
            ExitCode::FAILURE
        }
    }
}

fn config_error(error: &ConfigError) -> ExitCode {
    eprintln!("floorbot: configuration error: {error}");
    ExitCode::from(CONFIG_ERROR)
}

fn secrets_of(config: &Config) -> Vec<String> {
    let mut secrets = Vec::new();
    if let Some(token) = &config.telegram.token {
        secrets.extend(telemetry::token_secrets(token.expose()));
    }
    if let floorbot::config::PhoneConfig::Twilio { auth_token, .. } = &config.phone {
        secrets.push(auth_token.expose().to_owned());
    }
    secrets
}

/// Ctrl-C (SIGINT) and SIGTERM both stop the bot cleanly.
async fn stop_on_signal(shutdown: CancellationToken) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut terminate = match signal(SignalKind::terminate()) {
            Ok(stream) => stream,
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                let _ = tokio::signal::ctrl_c().await;
                shutdown.cancel();
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT received; stopping"),
            _ = terminate.recv() => tracing::info!("SIGTERM received; stopping"),
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    shutdown.cancel();
}
