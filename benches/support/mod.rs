//! What both benchmarks share: `main` around an async bench, the `floorbot` binary and a
//! scratch directory, the two fakes, the `floorbot run` child process, and the arithmetic on
//! instants and percentiles behind their figures.

use std::path::PathBuf;
use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};
use chrono::{DateTime, Utc};
use tempfile::TempDir;
use tokio::process::{Child, Command};

use crate::fake_phone::FakePhone;
use crate::fake_telegram::FakeTelegram;

const TOKEN: &str = "7000000001:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawQ";
const TWILIO_SID: &str = "AC0123456789abcdef0123456789abcdef";
const TWILIO_TOKEN: &str = "twilio-auth-token-for-the-bench";
const TWILIO_FROM: &str = "+14155550100";

/// Upper bound for the bot to exit after SIGTERM.
const STOP_WAIT: Duration = Duration::from_secs(15);

/// Runs `bench` on a multi-threaded runtime. The exit status is a failure only if the runtime
/// cannot start or `bench` fails; either is reported on stderr, prefixed with `name`.
pub fn main(name: &str, bench: impl Future<Output = anyhow::Result<()>>) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("{name} bench: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(bench) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{name} bench failed: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// The `floorbot` binary (built with the bench's profile) and a temporary directory for the
/// bot's databases, configuration files and logs, removed when this is dropped.
pub struct Env {
    binary: PathBuf,
    directory: TempDir,
}

impl Env {
    pub fn new() -> anyhow::Result<Env> {
        let binary = PathBuf::from(env!("CARGO_BIN_EXE_floorbot"));
        ensure!(binary.is_file(), "the floorbot binary is missing at {}", binary.display());
        let directory = tempfile::tempdir().context("creating a temporary directory")?;
        Ok(Env { binary, directory })
    }

    /// The URL of the database `<name>.db` in the directory.
    pub fn database_url(&self, name: &str) -> String {
        format!("sqlite://{}", self.directory.path().join(format!("{name}.db")).display())
    }
}

/// A fake Telegram (flood limits on) and a fake Twilio, both on the system clock.
pub struct Fakes {
    pub telegram: FakeTelegram,
    pub phone: FakePhone,
}

impl Fakes {
    pub async fn start() -> Fakes {
        Fakes { telegram: FakeTelegram::start().await, phone: FakePhone::start(TWILIO_SID, TWILIO_TOKEN).await }
    }

    pub async fn stop(self) {
        self.telegram.stop().await;
        self.phone.stop().await;
    }
}

/// A `floorbot run` child process talking to the fakes, with its log (level warn) in
/// `<name>.log`.
pub struct BotProcess {
    pub child: Child,
    pub pid: u32,
    pub log: PathBuf,
}

impl BotProcess {
    /// Starts the bot on the database at `database_url`; with `config`, written to
    /// `<name>.toml` and passed as `--config`.
    pub fn spawn(
        env: &Env,
        name: &str,
        config: Option<&str>,
        database_url: &str,
        fakes: &Fakes,
    ) -> anyhow::Result<BotProcess> {
        let directory = env.directory.path();
        let mut command = Command::new(&env.binary);
        command.arg("run");
        if let Some(config) = config {
            let config_path = directory.join(format!("{name}.toml"));
            std::fs::write(&config_path, config).context("writing the bot's configuration")?;
            command.arg("--config").arg(config_path);
        }
        let log = directory.join(format!("{name}.log"));
        let log_file = std::fs::File::create(&log).context("creating the bot's log file")?;
        command
            .current_dir(directory)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("TELOXIDE_TOKEN", TOKEN)
            .env("TELOXIDE_API_URL", fakes.telegram.api_url())
            .env("FLOORBOT_DATABASE_URL", database_url)
            .env("TWILIO_ACCOUNT_SID", TWILIO_SID)
            .env("TWILIO_AUTH_TOKEN", TWILIO_TOKEN)
            .env("TWILIO_FROM_NUMBER", TWILIO_FROM)
            .env("TWILIO_API_URL", fakes.phone.base_url())
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file)
            .kill_on_drop(true);
        let child = command.spawn().with_context(|| format!("starting {}", env.binary.display()))?;
        let pid = child.id().context("the bot exited at once")?;
        Ok(BotProcess { child, pid, log })
    }

    /// SIGTERM, then a bounded wait; killed if it does not stop. Problems are reported on
    /// stderr, prefixed with the bench's `name`.
    pub async fn stop(&mut self, name: &str) {
        if let Ok(None) = self.child.try_wait() {
            let _ = Command::new("kill").arg("-TERM").arg(self.pid.to_string()).status().await;
            match tokio::time::timeout(STOP_WAIT, self.child.wait()).await {
                Ok(Ok(status)) if status.success() => {}
                Ok(Ok(status)) => eprintln!("{name} bench: the bot stopped with {status}"),
                Ok(Err(error)) => eprintln!("{name} bench: waiting for the bot failed: {error}"),
                Err(_) => {
                    eprintln!("{name} bench: the bot did not stop within {STOP_WAIT:?} of SIGTERM; killing it");
                    let _ = self.child.kill().await;
                }
            }
        }
    }

    /// The last lines of the bot's log, for an error message.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(5)..].join(" | ");
        if tail.is_empty() { "empty".to_owned() } else { tail }
    }
}

/// An Instant and the system time, read together.
pub fn clocks_now() -> (Instant, DateTime<Utc>) {
    (Instant::now(), Utc::now())
}

/// The Instant at which the system clock shows `at`, through a pair of readings taken together.
pub fn to_instant(reference: (Instant, DateTime<Utc>), at: DateTime<Utc>) -> Instant {
    let offset = at - reference.1;
    match offset.to_std() {
        Ok(ahead) => reference.0 + ahead,
        Err(_) => reference.0 - (-offset).to_std().unwrap_or_default(),
    }
}

/// Milliseconds from `from` to `to`, negative when `to` came first.
pub fn ms_between(from: Instant, to: Instant) -> f64 {
    match to.checked_duration_since(from) {
        Some(after) => after.as_secs_f64() * 1000.0,
        None => -(from.duration_since(to).as_secs_f64() * 1000.0),
    }
}

/// The nearest-rank `p`th percentile of figures sorted in ascending order; NaN for none.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len().max(1)) - 1).copied().unwrap_or(f64::NAN)
}
