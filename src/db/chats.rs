//! Chats and teams: what each group is bound to, its language, whether the bot is still in it
//! and what it may do there, and supergroup migrations.

use chrono::{DateTime, Utc};
use sqlx::SqlitePool;

use crate::domain::team::{BindError, Place};
use crate::i18n::Lang;

/// Records a group chat (its title and type) without touching its binding.
pub async fn record_group(
    db: &SqlitePool,
    chat_id: i64,
    chat_type: &str,
    title: Option<&str>,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO chats (chat_id, chat_type, title, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (chat_id) DO UPDATE SET chat_type = excluded.chat_type,
             title = COALESCE(excluded.title, chats.title), updated_at = excluded.updated_at",
        chat_id,
        chat_type,
        title,
        now,
    )
    .execute(db)
    .await?;
    Ok(())
}

struct ChatRow {
    binding: Option<String>,
    team_id: Option<i64>,
    team_name: Option<String>,
    active: bool,
}

/// What the chat is to floorbot right now.
pub async fn place(db: &SqlitePool, chat_id: i64, is_private: bool) -> sqlx::Result<Place> {
    if is_private {
        return Ok(Place::Private);
    }
    let row = sqlx::query_as!(
        ChatRow,
        r#"SELECT chats.binding, chats.team_id, teams.name AS "team_name?", chats.active AS "active: bool"
         FROM chats LEFT JOIN teams ON teams.id = chats.team_id WHERE chats.chat_id = ?"#,
        chat_id,
    )
    .fetch_optional(db)
    .await?;
    Ok(match row {
        Some(ChatRow { active: true, binding: Some(binding), team_id, team_name }) => {
            match (binding.as_str(), team_id, team_name) {
                ("team", Some(team_id), Some(team_name)) => Place::TeamGroup { team_id, team_name },
                ("ops", _, _) => Place::OpsGroup,
                _ => Place::UnboundGroup,
            }
        }
        _ => Place::UnboundGroup,
    })
}

/// Whether the bot may still post in this chat (false once it was removed from a group).
pub async fn chat_is_active(db: &SqlitePool, chat_id: i64) -> sqlx::Result<bool> {
    let active: Option<bool> =
        sqlx::query_scalar!(r#"SELECT active AS "active: bool" FROM chats WHERE chat_id = ?"#, chat_id)
            .fetch_optional(db)
            .await?;
    Ok(active.unwrap_or(true))
}

/// Records whether the bot may delete messages in a group.
pub async fn set_can_delete(db: &SqlitePool, chat_id: i64, may: bool) -> sqlx::Result<()> {
    sqlx::query!("UPDATE chats SET can_delete = ? WHERE chat_id = ?", may, chat_id).execute(db).await?;
    Ok(())
}

/// Whether the bot knows it may delete messages in a group.
pub async fn can_delete(db: &SqlitePool, chat_id: i64) -> sqlx::Result<bool> {
    let may: Option<Option<bool>> =
        sqlx::query_scalar!(r#"SELECT can_delete AS "can_delete: bool" FROM chats WHERE chat_id = ?"#, chat_id)
            .fetch_optional(db)
            .await?;
    Ok(may.flatten().unwrap_or(false))
}

/// The chat's language, if someone set one with `/lang`.
pub async fn chat_language(db: &SqlitePool, chat_id: i64) -> sqlx::Result<Option<Lang>> {
    let tag: Option<Option<String>> =
        sqlx::query_scalar!("SELECT language FROM chats WHERE chat_id = ?", chat_id).fetch_optional(db).await?;
    Ok(tag.flatten().and_then(|tag| Lang::parse(&tag)))
}

pub async fn set_chat_language(
    db: &SqlitePool,
    chat_id: i64,
    chat_type: &str,
    lang: Lang,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO chats (chat_id, chat_type, language, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (chat_id) DO UPDATE SET language = excluded.language, updated_at = excluded.updated_at",
        chat_id,
        chat_type,
        lang.tag(),
        now,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Makes the chat the group of team `name` (created if new).
pub async fn bind_team(
    db: &SqlitePool,
    chat_id: i64,
    name: &str,
    by: i64,
    now: DateTime<Utc>,
) -> anyhow::Result<Result<(), BindError>> {
    let mut transaction = crate::db::begin(db).await?;
    sqlx::query!("INSERT INTO teams (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING", name, now)
        .execute(&mut *transaction)
        .await?;
    let team_id: i64 =
        sqlx::query_scalar!("SELECT id FROM teams WHERE name = ?", name).fetch_one(&mut *transaction).await?;
    let other: Option<Option<String>> = sqlx::query_scalar!(
        "SELECT title FROM chats WHERE team_id = ? AND binding = 'team' AND active = 1 AND chat_id <> ?",
        team_id,
        chat_id,
    )
    .fetch_optional(&mut *transaction)
    .await?;
    if let Some(title) = other {
        return Ok(Err(BindError::TeamHasAnotherGroup { team: name.to_owned(), title: title.unwrap_or_default() }));
    }
    sqlx::query!(
        "UPDATE chats SET binding = 'team', team_id = ?, active = 1, bound_by = ?, bound_at = ?, updated_at = ? WHERE chat_id = ?",
        team_id,
        by,
        now,
        now,
        chat_id,
    )
    .execute(&mut *transaction)
    .await?;
    transaction.commit().await?;
    Ok(Ok(()))
}

/// Makes the chat the cross-department group.
pub async fn bind_ops(
    db: &SqlitePool,
    chat_id: i64,
    by: i64,
    now: DateTime<Utc>,
) -> anyhow::Result<Result<(), BindError>> {
    let mut transaction = crate::db::begin(db).await?;
    let other: Option<Option<String>> =
        sqlx::query_scalar!("SELECT title FROM chats WHERE binding = 'ops' AND active = 1 AND chat_id <> ?", chat_id)
            .fetch_optional(&mut *transaction)
            .await?;
    if let Some(title) = other {
        return Ok(Err(BindError::OpsIsAnotherGroup { title: title.unwrap_or_default() }));
    }
    sqlx::query!(
        "UPDATE chats SET binding = 'ops', team_id = NULL, active = 1, bound_by = ?, bound_at = ?, updated_at = ? WHERE chat_id = ?",
        by,
        now,
        now,
        chat_id,
    )
    .execute(&mut *transaction)
    .await?;
    transaction.commit().await?;
    Ok(Ok(()))
}

/// Ends the chat's binding; returns whether it had one.
pub async fn unbind(db: &SqlitePool, chat_id: i64, now: DateTime<Utc>) -> sqlx::Result<bool> {
    let result = sqlx::query!(
        "UPDATE chats SET binding = NULL, team_id = NULL, updated_at = ? WHERE chat_id = ? AND binding IS NOT NULL",
        now,
        chat_id,
    )
    .execute(db)
    .await?;
    Ok(result.rows_affected() > 0)
}

/// The bot was removed from the chat: nothing more is sent there.
pub async fn deactivate_chat(db: &SqlitePool, chat_id: i64, now: DateTime<Utc>) -> sqlx::Result<()> {
    sqlx::query!("UPDATE chats SET active = 0, updated_at = ? WHERE chat_id = ?", now, chat_id).execute(db).await?;
    Ok(())
}

/// The bot was added (back) to a group: it starts unbound, and a supervisor binds it again.
pub async fn reactivate_chat(
    db: &SqlitePool,
    chat_id: i64,
    chat_type: &str,
    title: Option<&str>,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO chats (chat_id, chat_type, title, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (chat_id) DO UPDATE SET active = 1,
             binding = CASE WHEN chats.active = 1 THEN chats.binding ELSE NULL END,
             team_id = CASE WHEN chats.active = 1 THEN chats.team_id ELSE NULL END,
             title = COALESCE(excluded.title, chats.title), updated_at = excluded.updated_at",
        chat_id,
        chat_type,
        title,
        now,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// A group was upgraded to a supergroup: its binding and everything keyed by the chat move to
/// the new id in one transaction (foreign keys cascade the update).
pub async fn migrate_chat(
    db: &SqlitePool,
    old_chat_id: i64,
    new_chat_id: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let mut transaction = crate::db::begin(db).await?;
    let old_exists: Option<i64> = sqlx::query_scalar!("SELECT chat_id FROM chats WHERE chat_id = ?", old_chat_id)
        .fetch_optional(&mut *transaction)
        .await?;
    if old_exists.is_none() {
        return Ok(false);
    }
    // A message from the new supergroup may have arrived first and created a bare row.
    sqlx::query!("DELETE FROM chats WHERE chat_id = ? AND binding IS NULL", new_chat_id)
        .execute(&mut *transaction)
        .await?;
    let moved = sqlx::query!(
        "UPDATE OR IGNORE chats SET chat_id = ?, chat_type = 'supergroup', updated_at = ? WHERE chat_id = ?",
        new_chat_id,
        now,
        old_chat_id,
    )
    .execute(&mut *transaction)
    .await?;
    transaction.commit().await?;
    Ok(moved.rows_affected() > 0)
}

/// A team's name (empty if the team is gone).
pub async fn team_name(db: impl sqlx::SqliteExecutor<'_>, team_id: i64) -> sqlx::Result<String> {
    let name: Option<String> =
        sqlx::query_scalar!("SELECT name FROM teams WHERE id = ?", team_id).fetch_optional(db).await?;
    Ok(name.unwrap_or_default())
}

pub async fn team_id_by_name(db: &SqlitePool, name: &str) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar!("SELECT id FROM teams WHERE name = ?", name).fetch_optional(db).await
}
