//! What each live message shows, as a hash of its text and keyboard, so an edit is sent only
//! when it changes something — across restarts too.

use chrono::{DateTime, Utc};
use sqlx::SqlitePool;

/// The stored hash of what a live message shows, if any.
pub async fn shown(db: &SqlitePool, chat_id: i64, message_id: i32) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar!("SELECT hash FROM live_messages WHERE chat_id = ? AND message_id = ?", chat_id, message_id)
        .fetch_optional(db)
        .await
}

pub async fn set_shown(
    db: &SqlitePool,
    chat_id: i64,
    message_id: i32,
    hash: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO live_messages (chat_id, message_id, hash, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (chat_id, message_id) DO UPDATE SET hash = excluded.hash, updated_at = excluded.updated_at",
        chat_id,
        message_id,
        hash,
        now,
    )
    .execute(db)
    .await?;
    Ok(())
}
