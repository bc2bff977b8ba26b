//! Half-filled `/anomaly` forms: one per person per chat, expiring after five minutes.

use chrono::{DateTime, Utc};
use sqlx::SqlitePool;

use super::jobs::{self, JobKind};
use crate::domain::incident::AnomalyKind;

/// A form as stored.
#[derive(Clone, Debug)]
pub struct Form {
    pub store_id: Option<i64>,
    pub anomaly_kind: Option<AnomalyKind>,
    pub prompt_message_id: Option<i64>,
    pub request_message_id: Option<i64>,
    pub expires_at: DateTime<Utc>,
}

/// Saves the form (replacing any the person had in that chat) with its expiry job.
pub async fn save(
    db: &SqlitePool,
    chat_id: i64,
    user_id: i64,
    store_id: Option<i64>,
    kind: Option<AnomalyKind>,
    request_message_id: i32,
    expires_at: DateTime<Utc>,
) -> sqlx::Result<()> {
    let mut transaction = super::begin(db).await?;
    sqlx::query!(
        "INSERT INTO anomaly_forms (chat_id, user_id, store_id, anomaly_kind, prompt_message_id, request_message_id, expires_at)
         VALUES (?, ?, ?, ?, NULL, ?, ?)
         ON CONFLICT (chat_id, user_id) DO UPDATE SET store_id = excluded.store_id, anomaly_kind = excluded.anomaly_kind,
             prompt_message_id = NULL, request_message_id = excluded.request_message_id, expires_at = excluded.expires_at",
        chat_id,
        user_id,
        store_id,
        kind,
        request_message_id,
        expires_at,
    )
    .execute(&mut *transaction)
    .await?;
    let payload = format!("{chat_id}:{user_id}");
    jobs::enqueue(&mut transaction, JobKind::FormExpiry, None, Some(user_id), Some(&payload), expires_at).await?;
    transaction.commit().await
}

/// Ties the form to the prompt that asks for its next part.
pub async fn set_prompt(db: &SqlitePool, chat_id: i64, user_id: i64, prompt_message_id: i32) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE anomaly_forms SET prompt_message_id = ? WHERE chat_id = ? AND user_id = ?",
        prompt_message_id,
        chat_id,
        user_id,
    )
    .execute(db)
    .await?;
    Ok(())
}

pub async fn load(db: &SqlitePool, chat_id: i64, user_id: i64) -> sqlx::Result<Option<Form>> {
    sqlx::query_as!(
        Form,
        r#"SELECT store_id, anomaly_kind AS "anomaly_kind: AnomalyKind", prompt_message_id, request_message_id,
             expires_at AS "expires_at: DateTime<Utc>"
         FROM anomaly_forms WHERE chat_id = ? AND user_id = ?"#,
        chat_id,
        user_id,
    )
    .fetch_optional(db)
    .await
}

/// Deletes the form; returns whether there was one.
pub async fn delete(db: &SqlitePool, chat_id: i64, user_id: i64) -> sqlx::Result<bool> {
    let result = sqlx::query!("DELETE FROM anomaly_forms WHERE chat_id = ? AND user_id = ?", chat_id, user_id)
        .execute(db)
        .await?;
    Ok(result.rows_affected() > 0)
}
