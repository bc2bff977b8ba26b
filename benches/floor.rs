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
//! Run (Linux; builds the bench and the `floorbot` binary with the release profile first, then
//! takes about three minutes):
//!
//! ```sh
//! cargo bench --bench floor
//! ```

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{SqliteConnection, SqlitePool};
use tokio::process::{Child, Command};

#[allow(dead_code)]
#[path = "../tests/api/fake_phone/mod.rs"]
mod fake_phone;
#[allow(dead_code)]
#[path = "../tests/api/fake_telegram/mod.rs"]
mod fake_telegram;

use fake_phone::FakePhone;
use fake_telegram::{FakeTelegram, Recorded, private_chat_json, supergroup_chat_json, text_message_update, user_json};

const TOKEN: &str = "7000000001:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawQ";
const TWILIO_SID: &str = "AC0123456789abcdef0123456789abcdef";
const TWILIO_TOKEN: &str = "twilio-auth-token-for-the-bench";
const TWILIO_FROM: &str = "+14155550100";

/// Upper bounds: for the bot to poll after its start, for replies, and to exit after SIGTERM.
const START_WAIT: Duration = Duration::from_secs(30);
const REPLY_WAIT: Duration = Duration::from_secs(30);
const STOP_WAIT: Duration = Duration::from_secs(15);
/// How long the burst may take to show before the bench gives up looking.
const BURST_WAIT: Duration = Duration::from_secs(90);
/// Wall time over which the ringing bot's CPU time is read.
const CPU_WINDOW: Duration = Duration::from_secs(30);

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
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("floor bench: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(bench()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("floor bench failed: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn bench() -> anyhow::Result<()> {
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_floorbot"));
    ensure!(binary.is_file(), "the floorbot binary is missing at {}", binary.display());
    let directory = tempfile::tempdir().context("creating a temporary directory")?;
    let env = Env { binary, directory: directory.path().to_owned() };
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

// ---------------------------------------------------------------------------
// Scenario 1: /help latency
// ---------------------------------------------------------------------------

/// Runs the three `/help` series; returns the idle one, which has a target.
async fn help_latency(env: &Env) -> anyhow::Result<Stats> {
    let fakes = Fakes::start().await;
    let url = database(env, "help").await?.1;
    let mut bot = Bot::start(env, "help", "supervisors = [1001]\n", &url, &fakes).await?;
    let outcome = help_series(&mut bot, &fakes.telegram).await;
    finish("/help", bot, fakes).await;
    outcome
}

async fn help_series(bot: &mut Bot, telegram: &FakeTelegram) -> anyhow::Result<Stats> {
    // (a) One command every 50 ms, each from a new private chat.
    let pushed = push_help_paced(telegram, 200_000, 200, Duration::from_millis(50)).await;
    let idle = reply_latencies(bot, telegram, &pushed).await?;
    show("/help idle lane (200, 50 ms apart)", idle.line());
    settle().await;

    // (b) The next command as soon as the previous reply arrived.
    let mut pushed = Vec::new();
    for i in 0..200 {
        let user = 210_000 + i;
        let from = telegram.requests().len();
        pushed.push(push_help(telegram, user));
        telegram.wait_for(from, REPLY_WAIT, |request| is_send_to(request, user)).await;
        bot.check_alive()?;
    }
    show("/help back to back (200)", reply_latencies(bot, telegram, &pushed).await?.line());
    settle().await;

    // (c) 30 a second for 10 s across 300 private chats.
    let pushed = push_help_paced(telegram, 220_000, 300, Duration::from_secs(1) / 30).await;
    show("/help at 30/s over 300 chats (10 s)", reply_latencies(bot, telegram, &pushed).await?.line());
    Ok(idle)
}

/// Lets the bot's overall sending budget (30 a second, bursts of 30) refill between series.
async fn settle() {
    tokio::time::sleep(Duration::from_secs(2)).await;
}

/// Pushes `/help` from `count` private chats (users `first_user`, `first_user + 1`, …), one
/// every `interval` on a fixed schedule, whatever the replies do.
async fn push_help_paced(
    telegram: &FakeTelegram,
    first_user: i64,
    count: u32,
    interval: Duration,
) -> Vec<(i64, Instant)> {
    let start = Instant::now();
    let mut pushed = Vec::new();
    for i in 0..count {
        tokio::time::sleep_until((start + interval * i).into()).await;
        pushed.push(push_help(telegram, first_user + i64::from(i)));
    }
    pushed
}

/// Pushes `/help` from `user`'s private chat; returns the chat and when it was pushed.
fn push_help(telegram: &FakeTelegram, user: i64) -> (i64, Instant) {
    let from = user_json(user, "Agent", None, Some("zh-hans"));
    let update = text_message_update(telegram.next_message_id(user), &private_chat_json(&from), &from, "/help", None);
    let at = Instant::now();
    telegram.push_update(update);
    (user, at)
}

/// Waits for a reply in every pushed chat; the latency of each is from its push to the first
/// `sendMessage` to that chat arriving at the fake.
async fn reply_latencies(bot: &mut Bot, telegram: &FakeTelegram, pushed: &[(i64, Instant)]) -> anyhow::Result<Stats> {
    let pushed: HashMap<i64, Instant> = pushed.iter().copied().collect();
    let deadline = Instant::now() + REPLY_WAIT;
    wait_until(bot, deadline, async || {
        (first_sends(&telegram.requests(), &pushed).len() == pushed.len()).then_some(())
    })
    .await?;
    let replied = first_sends(&telegram.requests(), &pushed);
    let latencies = replied.iter().map(|(chat, at)| ms_between(pushed[chat], *at)).collect();
    Ok(Stats::of(latencies, pushed.len() - replied.len()))
}

fn first_sends(requests: &[Recorded], chats: &HashMap<i64, Instant>) -> HashMap<i64, Instant> {
    let mut first = HashMap::new();
    for request in requests.iter().filter(|request| request.method == "sendMessage") {
        if let Some(chat) = chat_of(request).filter(|chat| chats.contains_key(chat)) {
            first.entry(chat).or_insert(request.at);
        }
    }
    first
}

// ---------------------------------------------------------------------------
// Scenario 2: the 40-report burst
// ---------------------------------------------------------------------------

const BURST_REPORTS: i64 = 40;
const BURST_TEAM: i64 = 1;

struct Burst {
    /// From the first report until every number shows in both groups.
    visible_ms: Option<f64>,
    too_many: usize,
    first_call_late_ms: Option<f64>,
}

async fn report_burst(env: &Env) -> anyhow::Result<Burst> {
    let fakes = Fakes::start().await;
    let (db, url) = database(env, "burst").await?;
    prepare_burst(&db).await.context("preparing the burst database")?;
    let config = format!(
        "supervisors = [{DUTY}]\n[teams.\"Burst\".escalation]\n\
         chain = [ {{ after = \"20s\", actions = [\"call\"], target = \"duty\" }} ]\n"
    );
    let mut bot = Bot::start(env, "burst", &config, &url, &fakes).await?;
    let outcome = measure_burst(&mut bot, &fakes, &db).await;
    let (ops, team) =
        (fakes.telegram.sends_and_edits_in(OPS_CHAT), fakes.telegram.sends_and_edits_in(team_chat(BURST_TEAM)));
    show("burst: sends + edits in ops group / team group", format!("{ops} / {team}"));
    let finished = finish("burst", bot, fakes).await;
    Ok(Burst { too_many: finished.too_many, ..outcome? })
}

/// One team (its group bound) with 40 stores, the ops group, and the duty supervisor's number.
async fn prepare_burst(db: &SqlitePool) -> anyhow::Result<()> {
    let now = Utc::now();
    let mut transaction = db.begin().await?;
    insert_ops_group(&mut transaction, now).await?;
    insert_team(&mut transaction, BURST_TEAM, "Burst", now).await?;
    for store in 1..=BURST_REPORTS {
        insert_store(&mut transaction, BURST_TEAM, &format!("S{store:02}"), now).await?;
    }
    insert_person(&mut transaction, DUTY, now).await?;
    transaction.commit().await?;
    Ok(())
}

async fn measure_burst(bot: &mut Bot, fakes: &Fakes, db: &SqlitePool) -> anyhow::Result<Burst> {
    let telegram = &fakes.telegram;
    let group = supergroup_chat_json(team_chat(BURST_TEAM), "Burst");
    telegram.remember_chat(group.clone());
    telegram.remember_chat(supergroup_chat_json(OPS_CHAT, "ops"));
    let start = Instant::now();
    for i in 0..BURST_REPORTS {
        let spread = Duration::from_millis(5_000 / BURST_REPORTS as u64) * i as u32;
        tokio::time::sleep_until((start + spread).into()).await;
        let text = format!("/anomaly S{:02} 价格 标价错误，第 {} 条", i + 1, i + 1);
        push_text(telegram, &group, 80_000 + i % 8, &text);
    }
    let filed = wait_for_count(bot, db, "SELECT COUNT(*) FROM incidents", BURST_REPORTS).await?;
    show("burst: reports filed", filed);
    let wanted: BTreeSet<i64> =
        sqlx::query_scalar("SELECT id FROM incidents").fetch_all(db).await?.into_iter().collect();
    let (team, ops) = (team_chat(BURST_TEAM), OPS_CHAT);
    let shown = wait_until(bot, start + BURST_WAIT, async || {
        let requests = telegram.requests();
        let complete = |chat| complete_at(&requests, chat, &wanted);
        let (team_at, ops_at) = (complete(team)?, complete(ops)?);
        let now = |chat| wanted.is_subset(&shown_now(telegram, &requests, chat));
        (now(team) && now(ops)).then_some((team_at, ops_at))
    })
    .await?;
    let visible_ms = match shown {
        Some((team_at, ops_at)) => {
            show("burst: every #N visible in team group", format!("{:.0} ms", ms_between(start, team_at)));
            show("burst: every #N visible in ops group", format!("{:.0} ms", ms_between(start, ops_at)));
            Some(ms_between(start, team_at.max(ops_at)))
        }
        None => {
            let requests = telegram.requests();
            for (name, chat) in [("team", team), ("ops", ops)] {
                let missing: Vec<i64> = wanted.difference(&shown_now(telegram, &requests, chat)).copied().collect();
                show(&format!("burst: numbers not shown in {name} group"), format!("{missing:?}"));
            }
            None
        }
    };
    show("burst: every #N visible in both groups", visible_ms.map_or("no".to_owned(), |ms| format!("{ms:.0} ms")));

    // The chain's first step falls due 20 s after the earliest report.
    let first_report: DateTime<Utc> =
        sqlx::query_scalar("SELECT MIN(reported_at) FROM incidents").fetch_one(db).await?;
    let due = to_instant(first_report + chrono::Duration::seconds(20));
    let first_call =
        wait_until(bot, due + Duration::from_secs(15), async || fakes.phone.calls().first().cloned()).await?;
    let first_call_late_ms = first_call.map(|call| ms_between(due, call.at));
    let late = first_call_late_ms.map_or("no call".to_owned(), |ms| format!("{ms:.0} ms"));
    show("burst: first call (duty, +20 s) after its due time", late);
    Ok(Burst { visible_ms, too_many: 0, first_call_late_ms })
}

/// When `chat` first showed every wanted number (the arrival of the request that made it so),
/// replaying the bot's sends, edits and deletes there in order.
fn complete_at(requests: &[Recorded], chat: i64, wanted: &BTreeSet<i64>) -> Option<Instant> {
    let mut shown: HashMap<i64, String> = HashMap::new();
    for request in requests.iter().filter(|request| chat_of(request) == Some(chat)) {
        let message_id = request.result["message_id"].as_i64().or_else(|| param_i64(&request.body["message_id"]));
        match (request.method.as_str(), message_id) {
            ("sendMessage" | "editMessageText", Some(id)) => {
                let text = request.result["text"].as_str().or(request.body["text"].as_str()).unwrap_or_default();
                shown.insert(id, text.to_owned());
            }
            ("deleteMessage", Some(id)) => {
                shown.remove(&id);
            }
            ("deleteMessages", _) => {
                for id in request.body["message_ids"].as_array().into_iter().flatten().filter_map(param_i64) {
                    shown.remove(&id);
                }
            }
            _ => continue,
        }
        let numbers: BTreeSet<i64> = shown.values().flat_map(|text| numbers_in(text)).collect();
        if wanted.is_subset(&numbers) {
            return Some(request.at);
        }
    }
    None
}

/// The numbers the bot's messages in `chat` show now, as the fake holds them (edits applied).
fn shown_now(telegram: &FakeTelegram, requests: &[Recorded], chat: i64) -> BTreeSet<i64> {
    let sent = requests.iter().filter(|request| request.method == "sendMessage" && chat_of(request) == Some(chat));
    sent.filter_map(|request| request.result["message_id"].as_i64())
        .filter_map(|id| telegram.message(chat, id))
        .flat_map(|message| numbers_in(message["text"].as_str().unwrap_or_default()))
        .collect()
}

/// Every `#N` in a text.
fn numbers_in(text: &str) -> Vec<i64> {
    text.split('#').skip(1).filter_map(|rest| rest.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()).collect()
}

// ---------------------------------------------------------------------------
// Scenario 3: CPU while calls ring
// ---------------------------------------------------------------------------

const RINGING_PEOPLE: i64 = 100;
const FIRST_RINGING_PERSON: i64 = 300_000;

async fn ringing_calls(env: &Env) -> anyhow::Result<()> {
    let fakes = Fakes::start().await;
    let (db, url) = database(env, "ringing").await?;
    let due = Utc::now() + chrono::Duration::seconds(5);
    prepare_ringing(&db, due).await.context("preparing the ringing database")?;
    for person in FIRST_RINGING_PERSON..FIRST_RINGING_PERSON + RINGING_PEOPLE {
        fakes.phone.script(&number_of(person), &["ringing"]);
    }
    let mut bot = Bot::start(env, "ringing", "supervisors = [1001]\n", &url, &fakes).await?;
    let outcome = measure_ringing(&mut bot, &fakes.phone, &db, to_instant(due)).await;
    finish("ringing", bot, fakes).await;
    outcome
}

/// 100 people with a number, each with two incidents whose calls fall due a second apart.
async fn prepare_ringing(db: &SqlitePool, due: DateTime<Utc>) -> anyhow::Result<()> {
    let now = Utc::now();
    let mut transaction = db.begin().await?;
    for team in 1..=10 {
        insert_team(&mut transaction, team, &format!("Ring{team:02}"), now).await?;
        insert_store(&mut transaction, team, "旗舰店", now).await?;
    }
    for index in 0..RINGING_PEOPLE {
        let person = FIRST_RINGING_PERSON + index;
        insert_person(&mut transaction, person, now).await?;
        let team = index % 10 + 1;
        for (offset, incident) in [(0, 2 * index + 1), (1, 2 * index + 2)] {
            sqlx::query(
                "INSERT INTO incidents (id, kind, severity, team_id, store_id, anomaly_kind, description, reporter_id,
                                        reported_at, report_chat_id, team_chat_id)
                 VALUES (?1, 'store_anomaly', 'yellow', ?2, ?2, 'price', 'price shown wrong', ?3, ?4, ?5, ?5)",
            )
            .bind(incident)
            .bind(team)
            .bind(person)
            .bind(now)
            .bind(team_chat(team))
            .execute(&mut *transaction)
            .await?;
            sqlx::query(
                "INSERT INTO jobs (kind, incident_id, person_id, due_at, state, created_at, updated_at)
                 VALUES ('call', ?, ?, ?, 'pending', ?, ?)",
            )
            .bind(incident)
            .bind(person)
            .bind(due + chrono::Duration::seconds(offset))
            .bind(now)
            .bind(now)
            .execute(&mut *transaction)
            .await?;
        }
    }
    transaction.commit().await?;
    Ok(())
}

async fn measure_ringing(bot: &mut Bot, phone: &FakePhone, db: &SqlitePool, due: Instant) -> anyhow::Result<()> {
    let people = RINGING_PEOPLE as usize;
    let placed =
        wait_until(bot, due + Duration::from_secs(30), async || (phone.calls().len() >= people).then_some(())).await?;
    ensure!(placed.is_some(), "only {} of {people} calls were placed", phone.calls().len());
    // Let the second calls fall due, so that they wait behind the ringing ones.
    tokio::time::sleep_until((due + Duration::from_millis(1_500)).into()).await;
    let waiting = "SELECT COUNT(*) FROM jobs WHERE kind = 'call' AND state = 'pending' AND due_at <= ?";
    let waiting_before: i64 = sqlx::query_scalar(waiting).bind(Utc::now()).fetch_one(db).await?;

    let (cpu_before, polls_before, started) = (bot.cpu_seconds()?, phone.status_requests(), Instant::now());
    tokio::time::sleep(CPU_WINDOW).await;
    bot.check_alive()?;
    let (cpu_after, polls_after, elapsed) = (bot.cpu_seconds()?, phone.status_requests(), started.elapsed());
    let waiting_after: i64 = sqlx::query_scalar(waiting).bind(Utc::now()).fetch_one(db).await?;

    show(
        "ringing: calls placed (ringing) / waiting behind them",
        format!("{} / {waiting_before}", phone.calls().len()),
    );
    let per_minute = (cpu_after - cpu_before) / elapsed.as_secs_f64() * 60.0;
    show("ringing: bot CPU-seconds per minute", format!("{per_minute:.2} s"));
    let per_second = (polls_after - polls_before) as f64 / elapsed.as_secs_f64();
    show("ringing: status requests per second at the fake", format!("{per_second:.1}"));
    show("ringing: calls placed / waiting after the window", format!("{} / {waiting_after}", phone.calls().len()));
    Ok(())
}

// ---------------------------------------------------------------------------
// Scenario 4: 200 teams report in the same second
// ---------------------------------------------------------------------------

const TEAMS: i64 = 200;
fn first_callee(team: i64) -> i64 {
    60_000 + team
}
fn second_callee(team: i64) -> i64 {
    70_000 + team
}

struct Teams {
    filed: i64,
    step1: Stats,
    step2: Stats,
    errors: usize,
}

async fn two_hundred_teams(env: &Env) -> anyhow::Result<Teams> {
    let fakes = Fakes::start().await;
    let (db, url) = database(env, "teams").await?;
    prepare_teams(&db).await.context("preparing the 200-team database")?;
    let mut config = String::from("supervisors = [1001]\n");
    for team in 1..=TEAMS {
        config.push_str(&format!(
            "[teams.\"Team{team:03}\".escalation]\nchain = [ {{ after = \"10s\", actions = [\"call\"], target = \"user:{}\" }}, \
             {{ after = \"20s\", actions = [\"call\"], target = \"user:{}\" }} ]\n",
            first_callee(team),
            second_callee(team)
        ));
    }
    let mut bot = Bot::start(env, "teams", &config, &url, &fakes).await?;
    let outcome = measure_teams(&mut bot, &fakes, &db).await;
    let finished = finish("200 teams", bot, fakes).await;
    Ok(Teams { errors: finished.errors, ..outcome? })
}

/// 200 bound team groups with a store each, the ops group, and two people per team with numbers.
async fn prepare_teams(db: &SqlitePool) -> anyhow::Result<()> {
    let now = Utc::now();
    let mut transaction = db.begin().await?;
    insert_ops_group(&mut transaction, now).await?;
    for team in 1..=TEAMS {
        insert_team(&mut transaction, team, &format!("Team{team:03}"), now).await?;
        insert_store(&mut transaction, team, "旗舰店", now).await?;
        insert_person(&mut transaction, first_callee(team), now).await?;
        insert_person(&mut transaction, second_callee(team), now).await?;
    }
    transaction.commit().await?;
    Ok(())
}

async fn measure_teams(bot: &mut Bot, fakes: &Fakes, db: &SqlitePool) -> anyhow::Result<Teams> {
    let start = Instant::now();
    for team in 1..=TEAMS {
        tokio::time::sleep_until((start + Duration::from_millis(5) * (team - 1) as u32).into()).await;
        let group = supergroup_chat_json(team_chat(team), &format!("Team{team:03}"));
        fakes.telegram.remember_chat(group.clone());
        push_text(&fakes.telegram, &group, 50_000 + team, "/anomaly 旗舰店 价格 标错了");
    }
    let filed = wait_for_count(bot, db, "SELECT COUNT(*) FROM incidents", TEAMS).await?;
    show("200 teams: reports filed", filed);

    let reported: Vec<(i64, DateTime<Utc>)> =
        sqlx::query_as("SELECT report_chat_id, reported_at FROM incidents").fetch_all(db).await?;
    let reported: HashMap<i64, DateTime<Utc>> = reported.into_iter().collect();
    let last = reported.values().max().copied().unwrap_or_else(Utc::now);
    let deadline = to_instant(last + chrono::Duration::seconds(40));
    let calls = 2 * TEAMS as usize;
    wait_until(bot, deadline, async || (fakes.phone.calls().len() >= calls).then_some(())).await?;

    let placed = fakes.phone.calls();
    let mut delays = [Vec::new(), Vec::new()];
    for team in 1..=TEAMS {
        let Some(reported_at) = reported.get(&team_chat(team)) else { continue };
        for (step, (person, after)) in [(first_callee(team), 10), (second_callee(team), 20)].into_iter().enumerate() {
            let due = to_instant(*reported_at + chrono::Duration::seconds(after));
            if let Some(call) = placed.iter().find(|call| call.to == number_of(person)) {
                delays[step].push(ms_between(due, call.at));
            }
        }
    }
    let [step1, step2] = delays.map(|delays| {
        let missing = TEAMS as usize - delays.len();
        Stats::of(delays, missing)
    });
    show("200 teams: step 1 (+10 s) due → call", step1.line());
    show("200 teams: step 2 (+20 s) due → call", step2.line());
    show("200 teams: calls placed", placed.len());
    Ok(Teams { filed, step1, step2, errors: 0 })
}

// ---------------------------------------------------------------------------
// The bot process, the fakes and the database
// ---------------------------------------------------------------------------

struct Env {
    binary: PathBuf,
    directory: PathBuf,
}

/// A fake Telegram (limits on) and a fake Twilio, both on the system clock.
struct Fakes {
    telegram: FakeTelegram,
    phone: FakePhone,
}

impl Fakes {
    async fn start() -> Fakes {
        Fakes { telegram: FakeTelegram::start().await, phone: FakePhone::start(TWILIO_SID, TWILIO_TOKEN).await }
    }

    async fn stop(self) {
        self.telegram.stop().await;
        self.phone.stop().await;
    }
}

/// A `floorbot run` child process with its own configuration file, database and log.
struct Bot {
    child: Child,
    pid: u32,
    log: PathBuf,
}

impl Bot {
    /// Starts the bot and waits until it polls for updates.
    async fn start(env: &Env, name: &str, config: &str, database_url: &str, fakes: &Fakes) -> anyhow::Result<Bot> {
        let config_path = env.directory.join(format!("{name}.toml"));
        std::fs::write(&config_path, config).context("writing the bot's configuration")?;
        let log = env.directory.join(format!("{name}.log"));
        let log_file = std::fs::File::create(&log).context("creating the bot's log file")?;
        let mut command = Command::new(&env.binary);
        command
            .arg("run")
            .arg("--config")
            .arg(&config_path)
            .current_dir(&env.directory)
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
        let mut bot = Bot { child, pid, log };
        let deadline = Instant::now() + START_WAIT;
        let polling = wait_until(&mut bot, deadline, async || (fakes.telegram.get_updates_calls() > 0).then_some(()));
        if polling.await?.is_none() {
            bail!("the bot never polled for updates (log: {})", bot.log_tail());
        }
        Ok(bot)
    }

    fn check_alive(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait().context("checking on the bot")? {
            bail!("the bot exited early with {status} (log: {})", self.log_tail());
        }
        Ok(())
    }

    /// User plus system CPU time so far, from /proc/<pid>/stat.
    fn cpu_seconds(&self) -> anyhow::Result<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid)).context("reading /proc/<pid>/stat")?;
        // Fields after the command name (which may contain spaces) start with the state, field 3.
        let fields: Vec<&str> = stat.rsplit_once(')').context("unreadable stat")?.1.split_whitespace().collect();
        let ticks = |field: usize| -> anyhow::Result<f64> {
            Ok(fields.get(field - 3).context("short stat")?.parse::<u64>().context("unreadable stat field")? as f64)
        };
        Ok((ticks(14)? + ticks(15)?) / clock_ticks_per_second())
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(5)..].join(" | ");
        if tail.is_empty() { "empty".to_owned() } else { tail }
    }

    /// SIGTERM, then a bounded wait (killed if it does not stop); returns the whole log.
    async fn stop(mut self) -> String {
        if let Ok(None) = self.child.try_wait() {
            let _ = Command::new("kill").arg("-TERM").arg(self.pid.to_string()).status().await;
            match tokio::time::timeout(STOP_WAIT, self.child.wait()).await {
                Ok(Ok(status)) if status.success() => {}
                Ok(Ok(status)) => eprintln!("floor bench: the bot stopped with {status}"),
                Ok(Err(error)) => eprintln!("floor bench: waiting for the bot failed: {error}"),
                Err(_) => {
                    eprintln!("floor bench: the bot did not stop within {STOP_WAIT:?} of SIGTERM; killing it");
                    let _ = self.child.kill().await;
                }
            }
        }
        std::fs::read_to_string(&self.log).unwrap_or_default()
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

/// A fresh, migrated database for a scenario: the pool (for preparing and checking) and its URL.
async fn database(env: &Env, name: &str) -> anyhow::Result<(SqlitePool, String)> {
    let url = format!("sqlite://{}", env.directory.join(format!("{name}.db")).display());
    let db = floorbot::db::connect_and_migrate(&url).await.with_context(|| format!("creating {url}"))?;
    Ok((db, url))
}

async fn insert_ops_group(conn: &mut SqliteConnection, now: DateTime<Utc>) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO chats (chat_id, chat_type, title, binding, updated_at) VALUES (?, 'supergroup', 'ops', 'ops', ?)",
    )
    .bind(OPS_CHAT)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A team and its bound group.
async fn insert_team(conn: &mut SqliteConnection, team: i64, name: &str, now: DateTime<Utc>) -> anyhow::Result<()> {
    sqlx::query("INSERT INTO teams (id, name, created_at) VALUES (?, ?, ?)")
        .bind(team)
        .bind(name)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO chats (chat_id, chat_type, title, binding, team_id, bound_at, updated_at)
         VALUES (?, 'supergroup', ?, 'team', ?, ?, ?)",
    )
    .bind(team_chat(team))
    .bind(name)
    .bind(team)
    .bind(now)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn insert_store(conn: &mut SqliteConnection, team: i64, name: &str, now: DateTime<Utc>) -> anyhow::Result<()> {
    sqlx::query("INSERT INTO stores (team_id, platform, name, created_at) VALUES (?, 'tmall', ?, ?)")
        .bind(team)
        .bind(name)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Someone who started the bot in private and registered a number ([`number_of`]).
async fn insert_person(conn: &mut SqliteConnection, person: i64, now: DateTime<Utc>) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO people (user_id, first_name, started_private, first_seen, last_seen) VALUES (?, ?, 1, ?, ?)",
    )
    .bind(person)
    .bind(format!("Person {person}"))
    .bind(now)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    sqlx::query("INSERT INTO phone_numbers (user_id, number, updated_at) VALUES (?, ?, ?)")
        .bind(person)
        .bind(number_of(person))
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Updates, requests, figures
// ---------------------------------------------------------------------------

/// `reporter` writes `text` in the group `chat`.
fn push_text(telegram: &FakeTelegram, chat: &Value, reporter: i64, text: &str) {
    let chat_id = chat["id"].as_i64().unwrap_or_default();
    let from = user_json(reporter, "Agent", None, Some("zh-hans"));
    telegram.push_update(text_message_update(telegram.next_message_id(chat_id), chat, &from, text, None));
}

fn chat_of(request: &Recorded) -> Option<i64> {
    param_i64(&request.body["chat_id"])
}

fn is_send_to(request: &Recorded, chat: i64) -> bool {
    request.method == "sendMessage" && chat_of(request) == Some(chat)
}

/// An integer parameter, sent as a JSON number or as text.
fn param_i64(value: &Value) -> Option<i64> {
    value.as_i64().or_else(|| value.as_str()?.parse().ok())
}

/// The Instant at which the system clock shows `at`.
fn to_instant(at: DateTime<Utc>) -> Instant {
    let (instant, now) = (Instant::now(), Utc::now());
    match (at - now).to_std() {
        Ok(ahead) => instant + ahead,
        Err(_) => instant - (now - at).to_std().unwrap_or_default(),
    }
}

/// Milliseconds from `from` to `to`, negative when `to` came first.
fn ms_between(from: Instant, to: Instant) -> f64 {
    match to.checked_duration_since(from) {
        Some(after) => after.as_secs_f64() * 1000.0,
        None => -(from.duration_since(to).as_secs_f64() * 1000.0),
    }
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
        let percentile = |p: f64| {
            let rank = ((p / 100.0) * ms.len() as f64).ceil() as usize;
            ms.get(rank.clamp(1, ms.len().max(1)) - 1).copied().unwrap_or(f64::NAN)
        };
        let (p50, p99) = (percentile(50.0), percentile(99.0));
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
