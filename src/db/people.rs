//! People and their roles: who the bot has seen and where, granted roles, the supervisors in
//! their standing order, the supervisor on duty, and the one-time claim code.

use chrono::{DateTime, Utc};
use rand::Rng;
use sqlx::SqlitePool;

use crate::domain::team::{Person, Role, RoleSet, SeenUser};

/// Records (or refreshes) a person; `in_private` marks that they have started the bot, which
/// the bot needs before it can write to them privately.
pub async fn record_person(
    db: &SqlitePool,
    user: &SeenUser<'_>,
    in_private: bool,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO people (user_id, first_name, last_name, username, language_code, started_private, first_seen, last_seen)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (user_id) DO UPDATE SET first_name = excluded.first_name, last_name = excluded.last_name,
             username = excluded.username, language_code = excluded.language_code,
             started_private = MAX(people.started_private, excluded.started_private), last_seen = excluded.last_seen",
        user.user_id,
        user.first_name,
        user.last_name,
        user.username,
        user.language_code,
        in_private,
        now,
        now,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Records that a person was seen in a group.
pub async fn record_member(db: &SqlitePool, chat_id: i64, user_id: i64, now: DateTime<Utc>) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO chat_members (chat_id, user_id, first_seen, last_seen) VALUES (?, ?, ?, ?)
         ON CONFLICT (chat_id, user_id) DO UPDATE SET last_seen = excluded.last_seen",
        chat_id,
        user_id,
        now,
        now,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Someone's name for a message (HTML, does not notify): their recorded name, else their id.
pub async fn name_html(db: &SqlitePool, user_id: Option<i64>) -> sqlx::Result<String> {
    let Some(user_id) = user_id else { return Ok(String::new()) };
    Ok(match person(db, user_id).await? {
        Some(person) => person.name_html(),
        None => format!("<code>{user_id}</code>"),
    })
}

pub async fn person(db: impl sqlx::SqliteExecutor<'_>, user_id: i64) -> sqlx::Result<Option<Person>> {
    sqlx::query_as!(
        Person,
        r#"SELECT user_id, first_name, last_name, username, language_code, started_private AS "started_private: bool"
         FROM people WHERE user_id = ?"#,
        user_id,
    )
    .fetch_optional(db)
    .await
}

/// Finds someone the bot has seen by `@username` (with or without the `@`).
pub async fn person_by_username(db: &SqlitePool, username: &str) -> sqlx::Result<Option<Person>> {
    let username = username.trim().trim_start_matches('@');
    sqlx::query_as!(
        Person,
        r#"SELECT user_id, first_name, last_name, username, language_code, started_private AS "started_private: bool"
         FROM people WHERE username = ? COLLATE NOCASE ORDER BY last_seen DESC LIMIT 1"#,
        username,
    )
    .fetch_optional(db)
    .await
}

/// Everyone recorded in a chat, in order of first appearance.
pub async fn members(db: &SqlitePool, chat_id: i64) -> sqlx::Result<Vec<Person>> {
    sqlx::query_as!(
        Person,
        r#"SELECT people.user_id, people.first_name, people.last_name, people.username, people.language_code,
             people.started_private AS "started_private: bool"
         FROM chat_members JOIN people ON people.user_id = chat_members.user_id
         WHERE chat_members.chat_id = ? ORDER BY chat_members.first_seen, people.user_id"#,
        chat_id,
    )
    .fetch_all(db)
    .await
}

/// Roles granted by command.
pub async fn granted_roles(db: &SqlitePool, user_id: i64) -> sqlx::Result<RoleSet> {
    let names: Vec<String> =
        sqlx::query_scalar!("SELECT role FROM roles WHERE user_id = ?", user_id).fetch_all(db).await?;
    Ok(names.iter().filter_map(|name| Role::parse(name)).collect())
}

/// Every role the person holds: granted, listed as supervisor in the configuration
/// (`configured`), or agent
/// by being seen in a bound team group.
pub async fn roles(db: &SqlitePool, configured: &[i64], user_id: i64) -> sqlx::Result<RoleSet> {
    let mut roles = granted_roles(db, user_id).await?;
    if configured.contains(&user_id) {
        roles.insert(Role::Supervisor);
    }
    let in_team_group: Option<i64> = sqlx::query_scalar!(
        "SELECT 1 FROM chat_members JOIN chats ON chats.chat_id = chat_members.chat_id
         WHERE chat_members.user_id = ? AND chats.binding = 'team' AND chats.active = 1 LIMIT 1",
        user_id,
    )
    .fetch_optional(db)
    .await?;
    if in_team_group.is_some() {
        roles.insert(Role::Agent);
    }
    Ok(roles)
}

/// Grants a role; returns false if the person already had it.
pub async fn grant(db: &SqlitePool, user_id: i64, role: Role, by: i64, now: DateTime<Utc>) -> sqlx::Result<bool> {
    let result = sqlx::query!(
        "INSERT INTO roles (user_id, role, granted_by, granted_at) VALUES (?, ?, ?, ?) ON CONFLICT (user_id, role) DO NOTHING",
        user_id,
        role.as_str(),
        by,
        now,
    )
    .execute(db)
    .await?;
    Ok(result.rows_affected() > 0)
}

/// Revokes a granted role; returns false if it was not granted.
pub async fn revoke(db: &SqlitePool, user_id: i64, role: Role) -> sqlx::Result<bool> {
    let result =
        sqlx::query!("DELETE FROM roles WHERE user_id = ? AND role = ?", user_id, role.as_str()).execute(db).await?;
    Ok(result.rows_affected() > 0)
}

/// All supervisors in their standing order: the configuration's list first, then those granted
/// by command in the order they were granted.
pub async fn supervisors_in_order(db: &SqlitePool, configured: &[i64]) -> sqlx::Result<Vec<i64>> {
    let mut order = configured.to_vec();
    let granted: Vec<i64> =
        sqlx::query_scalar!("SELECT user_id FROM roles WHERE role = 'supervisor' ORDER BY id").fetch_all(db).await?;
    for user_id in granted {
        if !order.contains(&user_id) {
            order.push(user_id);
        }
    }
    Ok(order)
}

/// The supervisor on duty: whoever last took `/duty`, else the first supervisor.
pub async fn on_duty(db: &SqlitePool, configured: &[i64]) -> sqlx::Result<Option<i64>> {
    let taken: Option<i64> = sqlx::query_scalar!("SELECT user_id FROM duty WHERE id = 1").fetch_optional(db).await?;
    if taken.is_some() {
        return Ok(taken);
    }
    Ok(supervisors_in_order(db, configured).await?.first().copied())
}

pub async fn take_duty(db: &SqlitePool, user_id: i64, now: DateTime<Utc>) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO duty (id, user_id, since) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET user_id = excluded.user_id, since = excluded.since",
        user_id,
        now,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// When nobody is a supervisor yet, creates a fresh single-use claim code (replacing any
/// unused one) and returns it, so that the first person can take charge without knowing ids.
pub async fn prepare_claim_code(
    db: &SqlitePool,
    configured: &[i64],
    now: DateTime<Utc>,
) -> sqlx::Result<Option<String>> {
    if !supervisors_in_order(db, configured).await?.is_empty() {
        sqlx::query!("DELETE FROM claim_codes WHERE used_by IS NULL").execute(db).await?;
        return Ok(None);
    }
    let code: String = rand::rng().sample_iter(&rand::distr::Alphanumeric).take(8).map(char::from).collect();
    let mut transaction = crate::db::begin(db).await?;
    sqlx::query!("DELETE FROM claim_codes WHERE used_by IS NULL").execute(&mut *transaction).await?;
    sqlx::query!("INSERT INTO claim_codes (code, created_at) VALUES (?, ?)", code, now)
        .execute(&mut *transaction)
        .await?;
    transaction.commit().await?;
    Ok(Some(code))
}

/// Uses a claim code: the sender becomes supervisor. A code works once.
pub async fn claim(db: &SqlitePool, code: &str, user_id: i64, now: DateTime<Utc>) -> sqlx::Result<bool> {
    let mut transaction = crate::db::begin(db).await?;
    let used = sqlx::query!(
        "UPDATE claim_codes SET used_by = ?, used_at = ? WHERE code = ? AND used_by IS NULL",
        user_id,
        now,
        code,
    )
    .execute(&mut *transaction)
    .await?;
    if used.rows_affected() == 0 {
        return Ok(false);
    }
    sqlx::query!(
        "INSERT INTO roles (user_id, role, granted_by, granted_at) VALUES (?, 'supervisor', ?, ?) ON CONFLICT (user_id, role) DO NOTHING",
        user_id,
        user_id,
        now,
    )
    .execute(&mut *transaction)
    .await?;
    transaction.commit().await?;
    Ok(true)
}

/// Everyone holding a granted role, in grant order.
pub async fn role_holders(db: &SqlitePool, role: Role) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar!("SELECT user_id FROM roles WHERE role = ? ORDER BY id", role).fetch_all(db).await
}
