//! Scenario 2, a 40-report burst from one team group: how long until every report number shows
//! in the ops group and in the team group, the 429s, and how late the first call goes out.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use sqlx::SqlitePool;

use crate::db::{database, insert_ops_group, insert_person, insert_store, insert_team};
use crate::fake_telegram::{FakeTelegram, Recorded, supergroup_chat_json};
use crate::support::{Env, Fakes, ms_between};
use crate::{
    Bot, DUTY, OPS_CHAT, chat_of, finish, param_i64, push_text, show, team_chat, to_instant, wait_for_count, wait_until,
};

/// How long the burst may take to show before the bench gives up looking.
const BURST_WAIT: Duration = Duration::from_secs(90);

const BURST_REPORTS: i64 = 40;
const BURST_TEAM: i64 = 1;

pub(crate) struct Burst {
    /// From the first report until every number shows in both groups.
    pub(crate) visible_ms: Option<f64>,
    pub(crate) too_many: usize,
    pub(crate) first_call_late_ms: Option<f64>,
}

pub(crate) async fn report_burst(env: &Env) -> anyhow::Result<Burst> {
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
