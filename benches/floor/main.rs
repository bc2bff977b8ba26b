//! The floor under load: the real `floorbot run` binary (release) against a fake Telegram and
//! a fake Twilio on 127.0.0.1, both on the system clock, with Telegram's flood limits on.
//!
//! Four scenarios, each with a fresh database, fresh fakes and its own bot process:
//!
//! 1. **`/help` latency**, from pushing the update into the fake to the reply's `sendMessage`
//!    arriving there: (a) on an idle lane, 200 private chats, one command every 50 ms; (b) back
//!    to back, 200 private chats, each command pushed once the previous reply arrived; (c) 30
//!    commands a second across 300 private chats for 10 s.
//! 2. **A 40-report burst**: one team with 40 stores reports 40 anomalies from its group over
//!    5 s. Measured: the time until every report number (`#N`) shows in the ops group and in
//!    the team group — in a relay, a confirmation or a digest line, both as the bot sent it and
//!    as the fake shows the message now —, the 429s the fake answered, and how late the first
//!    call of the team's chain (the duty supervisor, 20 s after a report) arrives.
//! 3. **Ringing calls**: 100 people with two calls each, the second due a second after the
//!    first, while the fake phone keeps every call ringing: 100 calls ring and 100 wait behind
//!    them. Measured: the bot's CPU time (utime + stime from /proc) over 30 s, per minute, and
//!    the status requests per second the fake serves.
//! 4. **200 teams**: 200 reports within one second, one per team group; each team's chain
//!    calls one person after 10 s and another after 20 s. Measured: reports filed, delay from
//!    due time (reported_at + after) to each call's arrival per step, ERROR lines in the log.
//!
//! Every figure is printed on its own line, then PASS or MISS against the targets. The exit
//! status is non-zero only if the run itself failed (a bot that would not start or died, a
//! database that could not be prepared), never for a MISS.
//!
//! Each scenario has a module of its own; this one runs them in turn, prints the targets, and
//! holds what the scenarios share: the bot with its liveness and CPU readings, waiting on it,
//! the wrap-up after each scenario, and the figures.
//!
//! Run (Linux; builds the bench and the `floorbot` binary with the release profile first, then
//! takes about three minutes):
//!
//! ```sh
//! cargo bench --bench floor
//! ```

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::SqlitePool;

#[allow(dead_code)]
#[path = "../../tests/api/fake_phone/mod.rs"]
mod fake_phone;
#[allow(dead_code)]
#[path = "../../tests/api/fake_telegram/mod.rs"]
mod fake_telegram;
#[path = "../support/mod.rs"]
mod support;

mod burst;
mod db;
mod help;
mod ringing;
mod teams;

use burst::report_burst;
use fake_telegram::{FakeTelegram, Recorded, text_message_update, user_json};
use help::help_latency;
use ringing::ringing_calls;
use support::{BotProcess, Env, Fakes, percentile};
use teams::two_hundred_teams;

/// Upper bounds: for the bot to poll after its start, and for replies.
const START_WAIT: Duration = Duration::from_secs(30);
const REPLY_WAIT: Duration = Duration::from_secs(30);

/// The cross-department group, the supervisor on duty, and where each team speaks.
const OPS_CHAT: i64 = -1_001_000_000_000;
const DUTY: i64 = 9_001;
fn team_chat(team: i64) -> i64 {
    -1_002_000_000_000 - team
}
fn number_of(person: i64) -> String {
    format!("+86139{person:08}")
}

fn main() -> ExitCode {
    support::main("floor", bench())
}

async fn bench() -> anyhow::Result<()> {
    let env = Env::new()?;
    println!("floor bench: floorbot run (release) against fakes on 127.0.0.1, Telegram's limits on\n");

    let help = help_latency(&env).await.context("/help latency")?;
    let burst = report_burst(&env).await.context("the 40-report burst")?;
    ringing_calls(&env).await.context("ringing calls")?;
    let teams = two_hundred_teams(&env).await.context("200 teams")?;

    println!("\ntargets");
    verdict("/help idle p99 < 50 ms", help.p99 < 50.0 && help.missing == 0);
    let visible = burst.visible_ms.is_some_and(|ms| ms <= 60_000.0);
    verdict("burst visible <= 60 s with 0 429s", visible && burst.too_many == 0);
    verdict("first burst call <= 1 s late", burst.first_call_late_ms.is_some_and(|ms| ms <= 1_000.0));
    verdict("200 teams: 200 filed", teams.filed == 200);
    let on_time = |step: &Stats| step.missing == 0 && step.p99 < 100.0;
    verdict("200 teams: step p99 < 100 ms", on_time(&teams.step1) && on_time(&teams.step2));
    verdict("200 teams: 0 errors", teams.errors == 0);
    Ok(())
}

/// A `floorbot run` child process with its own configuration file, database and log.
struct Bot {
    process: BotProcess,
}

impl Bot {
    /// Starts the bot and waits until it polls for updates.
    async fn start(env: &Env, name: &str, config: &str, database_url: &str, fakes: &Fakes) -> anyhow::Result<Bot> {
        let process = BotProcess::spawn(env, name, Some(config), database_url, fakes)?;
        let mut bot = Bot { process };
        let deadline = Instant::now() + START_WAIT;
        let polling = wait_until(&mut bot, deadline, async || (fakes.telegram.get_updates_calls() > 0).then_some(()));
        if polling.await?.is_none() {
            bail!("the bot never polled for updates (log: {})", bot.process.log_tail());
        }
        Ok(bot)
    }

    fn check_alive(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.process.child.try_wait().context("checking on the bot")? {
            bail!("the bot exited early with {status} (log: {})", self.process.log_tail());
        }
        Ok(())
    }

    /// User plus system CPU time so far, from /proc/<pid>/stat.
    fn cpu_seconds(&self) -> anyhow::Result<f64> {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.process.pid)).context("reading /proc/<pid>/stat")?;
        // Fields after the command name (which may contain spaces) start with the state, field 3.
        let fields: Vec<&str> = stat.rsplit_once(')').context("unreadable stat")?.1.split_whitespace().collect();
        let ticks = |field: usize| -> anyhow::Result<f64> {
            Ok(fields.get(field - 3).context("short stat")?.parse::<u64>().context("unreadable stat field")? as f64)
        };
        Ok((ticks(14)? + ticks(15)?) / clock_ticks_per_second())
    }

    /// SIGTERM, then a bounded wait (killed if it does not stop); returns the whole log.
    async fn stop(mut self) -> String {
        self.process.stop("floor").await;
        std::fs::read_to_string(&self.process.log).unwrap_or_default()
    }
}

fn clock_ticks_per_second() -> f64 {
    let output = std::process::Command::new("getconf").arg("CLK_TCK").output();
    output.ok().and_then(|output| String::from_utf8_lossy(&output.stdout).trim().parse().ok()).unwrap_or(100.0)
}

/// What every scenario reports besides its own figures.
struct Finished {
    too_many: usize,
    errors: usize,
}

/// Stops the bot, then the fakes; prints the fake's 429s, any other request the fakes found
/// wrong, and the ERROR lines in the bot's log (the first few of them in full).
async fn finish(name: &str, bot: Bot, fakes: Fakes) -> Finished {
    let log = bot.stop().await;
    let too_many = fakes.telegram.too_many_requests();
    let telegram = fakes.telegram.violations().iter().filter(|v| !v.contains("over Telegram's rate limit")).count();
    let phone = fakes.phone.violations().len();
    fakes.stop().await;
    let errors: Vec<&str> = log.lines().filter(|line| line.contains(" ERROR ")).collect();
    let warnings = log.lines().filter(|line| line.contains(" WARN ")).count();
    show(&format!("{name}: 429 answers from the fake Telegram"), too_many);
    show(&format!("{name}: other violations (Telegram / Twilio)"), format!("{telegram} / {phone}"));
    show(&format!("{name}: ERROR lines in the bot's log"), format!("{} (WARN lines: {warnings})", errors.len()));
    for line in errors.iter().take(3) {
        println!("    {line}");
    }
    Finished { too_many, errors: errors.len() }
}

/// Polls `check` every 20 ms until it yields (Some), `deadline` passes (None) or the bot dies.
async fn wait_until<T>(
    bot: &mut Bot,
    deadline: Instant,
    mut check: impl AsyncFnMut() -> Option<T>,
) -> anyhow::Result<Option<T>> {
    loop {
        if let Some(found) = check().await {
            return Ok(Some(found));
        }
        bot.check_alive()?;
        if Instant::now() >= deadline {
            return Ok(None);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits (up to [`REPLY_WAIT`]) until `query` counts `expected` rows; returns the last count.
async fn wait_for_count(bot: &mut Bot, db: &SqlitePool, query: &'static str, expected: i64) -> anyhow::Result<i64> {
    let deadline = Instant::now() + REPLY_WAIT;
    let counted = wait_until(bot, deadline, async || {
        let count: i64 = sqlx::query_scalar(query).fetch_one(db).await.ok()?;
        (count >= expected).then_some(count)
    })
    .await?;
    match counted {
        Some(count) => Ok(count),
        None => Ok(sqlx::query_scalar(query).fetch_one(db).await?),
    }
}

/// `reporter` writes `text` in the group `chat`.
fn push_text(telegram: &FakeTelegram, chat: &Value, reporter: i64, text: &str) {
    let chat_id = chat["id"].as_i64().unwrap_or_default();
    let from = user_json(reporter, "Agent", None, Some("zh-hans"));
    telegram.push_update(text_message_update(telegram.next_message_id(chat_id), chat, &from, text, None));
}

fn chat_of(request: &Recorded) -> Option<i64> {
    param_i64(&request.body["chat_id"])
}

/// An integer parameter, sent as a JSON number or as text.
fn param_i64(value: &Value) -> Option<i64> {
    value.as_i64().or_else(|| value.as_str()?.parse().ok())
}

/// The Instant at which the system clock shows `at`.
fn to_instant(at: DateTime<Utc>) -> Instant {
    support::to_instant(support::clocks_now(), at)
}

/// Nearest-rank percentiles of figures in milliseconds, and how many never came.
struct Stats {
    count: usize,
    missing: usize,
    p50: f64,
    p99: f64,
    max: f64,
}

impl Stats {
    fn of(mut ms: Vec<f64>, missing: usize) -> Stats {
        ms.sort_by(f64::total_cmp);
        let (p50, p99) = (percentile(&ms, 50.0), percentile(&ms, 99.0));
        Stats { count: ms.len(), missing, p50, p99, max: ms.last().copied().unwrap_or(f64::NAN) }
    }

    fn line(&self) -> String {
        let missing = if self.missing > 0 { format!(", {} never came", self.missing) } else { String::new() };
        format!("p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms (n = {}{missing})", self.p50, self.p99, self.max, self.count)
    }
}

fn show(label: &str, value: impl std::fmt::Display) {
    println!("{label:<56} {value}");
}

fn verdict(target: &str, pass: bool) {
    println!("{}  {target}", if pass { "PASS" } else { "MISS" });
}
