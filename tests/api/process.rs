//! The `floorbot` binary itself: configuration errors, `check-config`, secret redaction in the
//! logs, running on defaults with no configuration file, and stopping on SIGTERM.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::process::Command;

use crate::fake_telegram::{Failure, FakeTelegram};
use crate::helpers::{TOKEN, eventually};

/// The token's secret half: what must never appear in any output.
fn token_secret() -> &'static str {
    TOKEN.split_once(':').map(|(_, secret)| secret).unwrap_or(TOKEN)
}

fn floorbot(directory: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_floorbot"));
    command.current_dir(directory).env_clear().env("PATH", std::env::var("PATH").unwrap_or_default());
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    command
}

async fn output(mut command: Command) -> (i32, String, String) {
    let output =
        tokio::time::timeout(Duration::from_secs(30), command.output()).await.expect("finishes").expect("runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test]
async fn a_bad_value_is_named_by_its_key_and_nothing_starts() {
    let directory = tempfile::tempdir().unwrap();
    std::fs::write(directory.path().join("floorbot.toml"), "timezone = \"Mars/Base\"\n").unwrap();
    for subcommand in ["check-config", "run"] {
        let mut command = floorbot(directory.path());
        command.arg(subcommand).env("TELOXIDE_TOKEN", TOKEN);
        let (code, _, stderr) = output(command).await;
        assert_eq!(code, 2, "{subcommand}: {stderr}");
        assert!(stderr.contains("`timezone`"), "{subcommand}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "one clear line: {stderr}");
    }
    assert!(!directory.path().join("floorbot.db").exists(), "no database was created");
}

#[tokio::test]
async fn bad_environment_values_are_named_and_exit_with_code_2() {
    let directory = tempfile::tempdir().unwrap();
    let cases = [
        ("TELOXIDE_TOKEN", "oops-not-a-token", "`TELOXIDE_TOKEN`"),
        ("TELOXIDE_API_URL", "ftp://example", "`TELOXIDE_API_URL`"),
        ("FLOORBOT_DATABASE_URL", "postgres://db/floor", "`FLOORBOT_DATABASE_URL`"),
        ("FLOORBOT_CONFIG", "/nonexistent/floorbot.toml", "`FLOORBOT_CONFIG`"),
    ];
    for (name, value, expected) in cases {
        for subcommand in ["check-config", "run"] {
            let mut command = floorbot(directory.path());
            command.arg(subcommand).env("TELOXIDE_TOKEN", TOKEN).env(name, value);
            let (code, _, stderr) = output(command).await;
            assert_eq!(code, 2, "{name} {subcommand}: {stderr}");
            assert!(stderr.contains(expected), "{name} {subcommand}: {stderr}");
            assert!(!stderr.contains("oops-not-a-token"), "the bad token is not repeated: {stderr}");
        }
    }
    let (code, _, stderr) = output({
        let mut command = floorbot(directory.path());
        command.arg("run");
        command
    })
    .await;
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("`TELOXIDE_TOKEN`"), "a missing token is named: {stderr}");
}

#[tokio::test]
async fn check_config_prints_the_effective_configuration_with_secrets_masked() {
    let directory = tempfile::tempdir().unwrap();
    std::fs::write(directory.path().join("floorbot.toml"), "supervisors = [1001, 1002]\nlanguage = \"en\"\n").unwrap();
    let mut command = floorbot(directory.path());
    command.arg("check-config").env("TELOXIDE_TOKEN", TOKEN);
    let (code, stdout, stderr) = output(command).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("timezone = \"Asia/Shanghai\""), "{stdout}");
    assert!(stdout.contains("language = \"en\""), "{stdout}");
    assert!(stdout.contains("supervisors = [1001, 1002]"), "{stdout}");
    assert!(stdout.contains("database_url = \"sqlite://floorbot.db\""), "{stdout}");
    assert!(stdout.contains("TELOXIDE_TOKEN = 7000000001:********"), "{stdout}");
    assert!(stdout.contains("warning: no phone provider configured"), "{stdout}");
    assert!(!stdout.contains(token_secret()) && !stderr.contains(token_secret()));
}

/// What to wait for before the signal.
enum Until<'a> {
    /// The fake answered this many getUpdates calls.
    Polled(&'a FakeTelegram, usize),
    /// The log holds this line this many times.
    Logged(&'static str, usize),
}

/// Runs the binary until `until` holds, then sends `signal` (`-TERM`, `-INT`); returns
/// (exit code, stderr).
async fn run_then_signal(directory: &std::path::Path, api_url: &str, until: Until<'_>, signal: &str) -> (i32, String) {
    let mut command = floorbot(directory);
    command.arg("run").env("TELOXIDE_TOKEN", TOKEN).env("TELOXIDE_API_URL", api_url).env("RUST_LOG", "trace");
    let mut child = command.spawn().expect("starts");
    let mut stderr = child.stderr.take().expect("stderr piped");
    let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let reader = tokio::spawn({
        let log = std::sync::Arc::clone(&log);
        async move {
            let mut chunk = [0_u8; 4096];
            while let Ok(read) = stderr.read(&mut chunk).await {
                if read == 0 {
                    break;
                }
                log.lock().expect("log lock").push_str(&String::from_utf8_lossy(&chunk[..read]));
            }
        }
    });
    eventually("the binary to get going", || async {
        let ready = match &until {
            Until::Polled(telegram, count) => telegram.get_updates_calls() >= *count,
            Until::Logged(line, count) => log.lock().expect("log lock").matches(line).count() >= *count,
        };
        ready.then_some(())
    })
    .await;
    let pid = child.id().expect("running").to_string();
    let killed = Command::new("kill").args([signal, &pid]).status().await.expect("kill runs");
    assert!(killed.success());
    let status =
        tokio::time::timeout(Duration::from_secs(20), child.wait()).await.expect("stops after SIGTERM").expect("waits");
    reader.await.expect("stderr read");
    let text = log.lock().expect("log lock").clone();
    (status.code().unwrap_or(-1), text)
}

#[tokio::test]
async fn with_no_configuration_it_runs_on_defaults_never_logs_the_token_and_stops_on_sigterm() {
    let directory = tempfile::tempdir().unwrap();
    let telegram = FakeTelegram::start().await;
    // Telegram answers 429 at first, so errors (with request URLs) are logged at every level.
    telegram.set_failure(Some(Failure::TooManyRequests { retry_after: 1 }));
    let fake = &telegram;
    let clear = async move {
        eventually("a refused request", || async { (!fake.failed_requests().is_empty()).then_some(()) }).await;
        fake.set_failure(None);
    };
    let api_url = telegram.api_url();
    let (run, ()) =
        tokio::join!(run_then_signal(directory.path(), &api_url, Until::Polled(&telegram, 2), "-TERM"), clear);
    let (code, stderr) = run;
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains(token_secret()), "the token leaked into the log");
    assert!(stderr.contains("[REDACTED]") || !stderr.contains("/bot"), "request URLs carry no token");
    assert!(stderr.contains("SIGTERM received"), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "no colour codes when the log is not a terminal");
    let claim = stderr
        .lines()
        .find(|line| line.contains("private chat to become supervisor: /claim "))
        .expect("a claim code is logged");
    let code = claim.split("/claim ").nth(1).expect("code follows").trim();
    assert_eq!(code.len(), 8, "{claim}");
    assert!(code.chars().all(|c| c.is_ascii_alphanumeric()), "{claim}");
    assert!(directory.path().join("floorbot.db").exists(), "the default database sits in the working directory");
    telegram.stop().await;
}

#[tokio::test]
async fn an_unreachable_api_is_retried_without_leaking_the_token_and_ctrl_c_stops_it() {
    let directory = tempfile::tempdir().unwrap();
    // Nothing listens on this port: every request fails at the network level.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let (code, stderr) =
        run_then_signal(directory.path(), &url, Until::Logged("cannot reach Telegram yet", 2), "-INT").await;
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("cannot reach Telegram yet"), "{stderr}");
    assert!(stderr.contains("SIGINT received"), "Ctrl-C stops it too: {stderr}");
    assert!(!stderr.contains(token_secret()), "the token leaked into the log");
}

#[tokio::test]
async fn json_logs_are_one_object_per_line() {
    let directory = tempfile::tempdir().unwrap();
    let mut command = floorbot(directory.path());
    command.args(["migrate", "--log-format", "json"]);
    let (code, _, stderr) = output(command).await;
    assert_eq!(code, 0, "{stderr}");
    let lines: Vec<serde_json::Value> =
        stderr.lines().map(|line| serde_json::from_str(line).expect("each log line is JSON")).collect();
    assert!(lines.iter().any(|line| line["message"] == "database is up to date"), "{stderr}");
    assert!(directory.path().join("floorbot.db").exists());
}

#[tokio::test]
async fn check_config_refuses_an_empty_decreasing_or_unknown_chain() {
    let cases = [
        ("[escalation]\nchain = []\n", "`escalation`", "empty"),
        (
            "[escalation]\nchain = [ { after = \"10m\", actions = [\"call\"], target = \"duty\" }, { after = \"5m\", actions = [\"call\"], target = \"backup\" } ]\n",
            "`escalation`",
            "never decrease",
        ),
        (
            "[teams.\"天猫一组\".escalation]\nchain = [ { after = \"5 minutes later\", actions = [\"call\"], target = \"duty\" } ]\n",
            "`teams.天猫一组.escalation.chain[0].after`",
            "not a delay",
        ),
    ];
    for (text, key, reason) in cases {
        let directory = tempfile::tempdir().unwrap();
        std::fs::write(directory.path().join("floorbot.toml"), text).unwrap();
        let mut command = floorbot(directory.path());
        command.arg("check-config").env("TELOXIDE_TOKEN", TOKEN);
        let (code, _, stderr) = output(command).await;
        assert_eq!(code, 2, "{text}: {stderr}");
        assert!(stderr.contains(key) && stderr.contains(reason), "{text}: {stderr}");
    }
    let directory = tempfile::tempdir().unwrap();
    std::fs::write(
        directory.path().join("floorbot.toml"),
        "[escalation]\nchain = [ { after = \"90s\", actions = [\"call\", \"private\"], target = \"duty\" } ]\ncall_retry = { after = \"1m\", times = 2 }\n",
    )
    .unwrap();
    let mut command = floorbot(directory.path());
    command.arg("check-config").env("TELOXIDE_TOKEN", TOKEN);
    let (code, stdout, stderr) = output(command).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("after 1m30s: call, private -> duty"), "{stdout}");
    assert!(stdout.contains("call_retry: 2 more time(s), 1m after a failed call"), "{stdout}");
}
