//! Scenario 3, CPU while calls ring: 100 calls keep ringing and 100 more wait behind them; the
//! bot's CPU time over 30 s and the status requests per second the fake phone serves.

use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};
use chrono::{DateTime, Utc};
use sqlx::SqlitePool;

use crate::db::{database, insert_person, insert_store, insert_team};
use crate::fake_phone::FakePhone;
use crate::support::{Env, Fakes};
use crate::{Bot, finish, number_of, show, team_chat, to_instant, wait_until};

/// Wall time over which the ringing bot's CPU time is read.
const CPU_WINDOW: Duration = Duration::from_secs(30);

const RINGING_PEOPLE: i64 = 100;
const FIRST_RINGING_PERSON: i64 = 300_000;

pub(crate) async fn ringing_calls(env: &Env) -> anyhow::Result<()> {
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
