//! Call dispatch under a burst: how late do phone calls go out when a thousand fall due at once?
//!
//! Sets up 20 teams, 1,000 people with phone numbers and 1,000 store anomalies (50 per team),
//! each with one pending call to a different person, all due in the same instant — so no two
//! calls merge. Then runs the real `floorbot run` binary as a child process against a fake
//! Telegram and a fake Twilio on 127.0.0.1 (both in this process), in two scenarios:
//!
//! * **due while running**: the calls fall due 3 s after the database is prepared, when the bot
//!   is already running; measured is the delay from the due time to each create-call request
//!   reaching the fake provider (p50/p99/max).
//! * **pending across a restart**: the calls fell due a minute before the bot starts; measured
//!   is the time from spawning the bot to each call's arrival.
//!
//! For both, the bot's peak resident memory (`VmHWM`, read from `/proc`) is reported once every
//! call has been placed and polled once. The targets are p99 < 100 ms, max < 1 s, memory
//! < 100 MB, and after a restart all calls within 2 s. Each is printed as PASS or MISS; the
//! exit status is non-zero only if the run itself failed (e.g. not every call arrived).
//!
//! Run (Linux; builds the bench and the `floorbot` binary with the release profile first):
//!
//! ```sh
//! cargo bench --bench escalation
//! ```

use std::collections::{BTreeMap, HashSet};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use chrono::{DateTime, Utc};
use tokio::process::Child;

#[allow(dead_code)]
#[path = "../tests/api/fake_phone/mod.rs"]
mod fake_phone;
#[allow(dead_code)]
#[path = "../tests/api/fake_telegram/mod.rs"]
mod fake_telegram;
mod support;

use fake_phone::{FakePhone, PlacedCall};
use support::{BotProcess, Env, Fakes, clocks_now, ms_between, percentile, to_instant};

const TEAMS: i64 = 20;
const INCIDENTS_PER_TEAM: i64 = 50;
const CALLS: usize = (TEAMS * INCIDENTS_PER_TEAM) as usize;
/// People are 100000, 100001, …; person `i` has the number `+86138000` followed by `i` in 5 digits.
const FIRST_PERSON: i64 = 100_000;

/// How far ahead of the bot's start the calls fall due in the first scenario.
const DUE_AHEAD: Duration = Duration::from_secs(3);
/// How long before the bot's start the calls fell due in the restart scenario.
const DUE_BEFORE_START: chrono::Duration = chrono::Duration::seconds(60);
/// Upper bound for all calls to arrive, counted from the due time (or the start).
const CALLS_WAIT: Duration = Duration::from_secs(30);
/// Upper bound for every placed call's first status poll, after the last call arrived.
const POLLS_WAIT: Duration = Duration::from_secs(30);

const TARGET_P99_MS: f64 = 100.0;
const TARGET_MAX_MS: f64 = 1_000.0;
const TARGET_MEMORY_MB: f64 = 100.0;
const TARGET_RESTART_MS: f64 = 2_000.0;

fn main() -> ExitCode {
    support::main("escalation", bench())
}

async fn bench() -> anyhow::Result<()> {
    let env = Env::new()?;
    let fakes = Fakes::start().await;

    println!("escalation bench: {CALLS} calls to {CALLS} people from {TEAMS} teams, all due at the same instant");

    // Scenario A: the calls fall due while the bot runs.
    let reference = clocks_now();
    let due = reference.1 + chrono::Duration::from_std(DUE_AHEAD).context("due offset")?;
    seed(&env.database_url("running"), due).await.context("preparing the first database")?;
    let due_instant = to_instant(reference, due);
    let run = run_bot(&env, &fakes, "running", due_instant).await?;
    let running = Summary::new(&run.calls, due_instant);

    // Scenario B: the calls fell due while the bot was down.
    seed(&env.database_url("restart"), Utc::now() - DUE_BEFORE_START).await.context("preparing the second database")?;
    let start = Instant::now();
    let restart = run_bot(&env, &fakes, "restart", start).await?;
    let restarted = Summary::new(&restart.calls, start);

    let violations = fakes.phone.violations();
    fakes.stop().await;

    println!();
    println!("{:<46} {:>10}  {:>11}  result", "measure", "value", "target");
    let row = |name: &str, value: f64, unit: &str, target: f64| {
        let verdict = if value < target { "PASS" } else { "MISS" };
        let (value, target) = (format!("{value:.1} {unit}"), format!("< {target:.0} {unit}"));
        println!("{name:<46} {value:>10}  {target:>11}  {verdict}");
    };
    let info = |name: &str, value: f64, unit: &str| println!("{name:<46} {:>10}", format!("{value:.1} {unit}"));
    info("due while running: delay due → call, p50", running.p50, "ms");
    row("due while running: delay due → call, p99", running.p99, "ms", TARGET_P99_MS);
    row("due while running: delay due → call, max", running.max, "ms", TARGET_MAX_MS);
    info("due while running: first call after due", running.min, "ms");
    row("due while running: peak memory (VmHWM)", run.peak_mb, "MB", TARGET_MEMORY_MB);
    info("after restart: start → call, p50", restarted.p50, "ms");
    info("after restart: start → call, p99", restarted.p99, "ms");
    row("after restart: start → last call", restarted.max, "ms", TARGET_RESTART_MS);
    info("after restart: start → first call", restarted.min, "ms");
    row("after restart: peak memory (VmHWM)", restart.peak_mb, "MB", TARGET_MEMORY_MB);
    println!();
    println!("calls per second after due (running):  {}", running.per_second());
    println!("calls per second after start (restart): {}", restarted.per_second());
    if !violations.is_empty() {
        println!("fake phone recorded {} protocol violations; first: {}", violations.len(), violations[0]);
    }
    Ok(())
}

/// What one run of the bot produced.
struct Run {
    /// The first call to each of the people, in arrival order.
    calls: Vec<PlacedCall>,
    peak_mb: f64,
}

/// Starts the bot on the database `<name>.db`, waits (until `deadline_base` + [`CALLS_WAIT`])
/// for a call to every person, lets each call be polled once, reads the peak memory and stops
/// the bot.
async fn run_bot(env: &Env, fakes: &Fakes, name: &str, deadline_base: Instant) -> anyhow::Result<Run> {
    let phone = &fakes.phone;
    let seen = Seen { calls: phone.calls().len(), polls: phone.status_requests() };
    let mut bot = BotProcess::spawn(env, name, None, &env.database_url(name), fakes)?;
    let result = observe(&mut bot.child, bot.pid, phone, seen, deadline_base).await;
    bot.stop("escalation").await;
    result.with_context(|| format!("{name} scenario (bot log: {})", bot.log_tail()))
}

/// What the fake phone had already seen before a run.
#[derive(Clone, Copy)]
struct Seen {
    calls: usize,
    polls: usize,
}

async fn observe(
    child: &mut Child,
    pid: u32,
    phone: &FakePhone,
    before: Seen,
    deadline_base: Instant,
) -> anyhow::Result<Run> {
    let calls_deadline = deadline_base + CALLS_WAIT;
    let wanted = before.calls + CALLS;
    let arrived = tokio::select! {
        arrived = phone.wait_for_calls(wanted, calls_deadline.saturating_duration_since(Instant::now())) => arrived,
        status = child.wait() => bail!("the bot exited early: {status:?}"),
    };
    let placed = phone.calls();
    if !arrived {
        bail!("only {} of {CALLS} calls arrived within {CALLS_WAIT:?}", placed.len().saturating_sub(before.calls));
    }
    let mut numbers = HashSet::new();
    let mut calls = Vec::with_capacity(CALLS);
    for call in placed.into_iter().skip(before.calls) {
        if numbers.insert(call.to.clone()) {
            calls.push(call);
        }
    }
    ensure!(calls.len() == CALLS, "calls went to {} distinct numbers, expected {CALLS}", calls.len());
    for index in 0..CALLS {
        let number = phone_number(index);
        ensure!(numbers.contains(&number), "no call to {number}");
    }
    // Every call is answered at its first status poll; memory is read once all were polled.
    let polled = phone.wait_for_status_requests(before.polls + CALLS, POLLS_WAIT).await;
    if !polled {
        eprintln!("escalation bench: not every call was polled within {POLLS_WAIT:?}; memory read anyway");
    }
    let peak_mb = peak_rss_mb(pid)?;
    Ok(Run { calls, peak_mb })
}

/// The bot's peak resident set size in MB (10^6 bytes), from /proc/<pid>/status.
fn peak_rss_mb(pid: u32) -> anyhow::Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).context("reading /proc/<pid>/status")?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:")).context("no VmHWM in /proc/<pid>/status")?;
    let kib: f64 = line
        .trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .with_context(|| format!("unreadable {line:?}"))?;
    Ok(kib * 1024.0 / 1_000_000.0)
}

fn phone_number(index: usize) -> String {
    format!("+86138000{index:05}")
}

/// Creates and fills a database: teams with bound groups and a store each, people with phone
/// numbers, open anomalies, and one pending call per anomaly, to a different person, due at `due`.
async fn seed(database_url: &str, due: DateTime<Utc>) -> anyhow::Result<()> {
    let db = floorbot::db::connect_and_migrate(database_url).await?;
    let now = Utc::now();
    let mut transaction = db.begin().await?;
    for team in 1..=TEAMS {
        sqlx::query("INSERT INTO teams (id, name, created_at) VALUES (?, ?, ?)")
            .bind(team)
            .bind(format!("team-{team:02}"))
            .bind(now)
            .execute(&mut *transaction)
            .await?;
        sqlx::query(
            "INSERT INTO chats (chat_id, chat_type, title, binding, team_id, active, bound_at, updated_at)
             VALUES (?, 'supergroup', ?, 'team', ?, 1, ?, ?)",
        )
        .bind(team_chat(team))
        .bind(format!("team-{team:02} group"))
        .bind(team)
        .bind(now)
        .bind(now)
        .execute(&mut *transaction)
        .await?;
        sqlx::query("INSERT INTO stores (id, team_id, platform, name, created_at) VALUES (?, ?, 'tmall', ?, ?)")
            .bind(team)
            .bind(team)
            .bind(format!("store-{team:02}"))
            .bind(now)
            .execute(&mut *transaction)
            .await?;
    }
    for index in 0..CALLS {
        let person = FIRST_PERSON + i64::try_from(index)?;
        let incident = i64::try_from(index)? + 1;
        let team = i64::try_from(index)? / INCIDENTS_PER_TEAM + 1;
        sqlx::query(
            "INSERT INTO people (user_id, first_name, started_private, first_seen, last_seen) VALUES (?, ?, 1, ?, ?)",
        )
        .bind(person)
        .bind(format!("Agent {index}"))
        .bind(now)
        .bind(now)
        .execute(&mut *transaction)
        .await?;
        sqlx::query("INSERT INTO phone_numbers (user_id, number, updated_at) VALUES (?, ?, ?)")
            .bind(person)
            .bind(phone_number(index))
            .bind(now)
            .execute(&mut *transaction)
            .await?;
        sqlx::query(
            "INSERT INTO incidents (id, kind, severity, team_id, store_id, anomaly_kind, description, reporter_id,
                                    reported_at, report_chat_id, team_chat_id)
             VALUES (?, 'store_anomaly', 'yellow', ?, ?, 'price', ?, ?, ?, ?, ?)",
        )
        .bind(incident)
        .bind(team)
        .bind(team)
        .bind(format!("price shown wrong on item {index}"))
        .bind(person)
        .bind(now)
        .bind(team_chat(team))
        .bind(team_chat(team))
        .execute(&mut *transaction)
        .await?;
        sqlx::query(
            "INSERT INTO jobs (kind, incident_id, person_id, due_at, state, created_at, updated_at)
             VALUES ('call', ?, ?, ?, 'pending', ?, ?)",
        )
        .bind(incident)
        .bind(person)
        .bind(due)
        .bind(now)
        .bind(now)
        .execute(&mut *transaction)
        .await?;
    }
    transaction.commit().await?;
    db.close().await;
    Ok(())
}

fn team_chat(team: i64) -> i64 {
    -1_001_000_000_000 - team
}

/// Arrival times of the calls relative to a base moment, in milliseconds (negative: before it).
struct Summary {
    sorted_ms: Vec<f64>,
    p50: f64,
    p99: f64,
    max: f64,
    min: f64,
}

impl Summary {
    fn new(calls: &[PlacedCall], base: Instant) -> Summary {
        let mut sorted_ms: Vec<f64> = calls.iter().map(|call| ms_between(base, call.at)).collect();
        sorted_ms.sort_by(f64::total_cmp);
        let (p50, p99) = (percentile(&sorted_ms, 50.0), percentile(&sorted_ms, 99.0));
        let max = sorted_ms.last().copied().unwrap_or(f64::NAN);
        let min = sorted_ms.first().copied().unwrap_or(f64::NAN);
        Summary { sorted_ms, p50, p99, max, min }
    }

    /// "0-1s: 128, 1-2s: 0, …" — how the calls spread over whole seconds after the base.
    fn per_second(&self) -> String {
        let mut buckets: BTreeMap<i64, usize> = BTreeMap::new();
        for ms in &self.sorted_ms {
            *buckets.entry((ms / 1000.0).floor() as i64).or_default() += 1;
        }
        let (Some(first), Some(last)) = (buckets.keys().next().copied(), buckets.keys().next_back().copied()) else {
            return String::new();
        };
        (first..=last)
            .map(|second| format!("{second}-{}s: {}", second + 1, buckets.get(&second).copied().unwrap_or(0)))
            .collect::<Vec<_>>()
            .join(", ")
    }
}
