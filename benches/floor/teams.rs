//! Scenario 4, 200 teams report in the same second: reports filed, and the delay from each
//! chain step's due time to its call.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use sqlx::SqlitePool;

use crate::db::{database, insert_ops_group, insert_person, insert_store, insert_team};
use crate::fake_telegram::supergroup_chat_json;
use crate::support::{Env, Fakes, ms_between};
use crate::{Bot, Stats, finish, number_of, push_text, show, team_chat, to_instant, wait_for_count, wait_until};

const TEAMS: i64 = 200;
fn first_callee(team: i64) -> i64 {
    60_000 + team
}
fn second_callee(team: i64) -> i64 {
    70_000 + team
}

pub(crate) struct Teams {
    pub(crate) filed: i64,
    pub(crate) step1: Stats,
    pub(crate) step2: Stats,
    pub(crate) errors: usize,
}

pub(crate) async fn two_hundred_teams(env: &Env) -> anyhow::Result<Teams> {
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
