//! The scenarios' databases: a fresh, migrated one each, and the rows they start from (the
//! ops group, teams with their bound groups and stores, people with phone numbers).

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use sqlx::{SqliteConnection, SqlitePool};

use crate::support::Env;
use crate::{OPS_CHAT, number_of, team_chat};

/// A fresh, migrated database for a scenario: the pool (for preparing and checking) and its URL.
pub(crate) async fn database(env: &Env, name: &str) -> anyhow::Result<(SqlitePool, String)> {
    let url = env.database_url(name);
    let db = floorbot::db::connect_and_migrate(&url).await.with_context(|| format!("creating {url}"))?;
    Ok((db, url))
}

pub(crate) async fn insert_ops_group(conn: &mut SqliteConnection, now: DateTime<Utc>) -> anyhow::Result<()> {
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
pub(crate) async fn insert_team(
    conn: &mut SqliteConnection,
    team: i64,
    name: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
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

pub(crate) async fn insert_store(
    conn: &mut SqliteConnection,
    team: i64,
    name: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    sqlx::query("INSERT INTO stores (team_id, platform, name, created_at) VALUES (?, 'tmall', ?, ?)")
        .bind(team)
        .bind(name)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Someone who started the bot in private and registered a number ([`number_of`]).
pub(crate) async fn insert_person(conn: &mut SqliteConnection, person: i64, now: DateTime<Utc>) -> anyhow::Result<()> {
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
