//! The store accounts each team covers.

use chrono::{DateTime, Utc};
use sqlx::SqlitePool;

use crate::domain::store::{Platform, Store};

/// Adds a store to a team; `false` if the team already has a store by that name.
pub async fn add(
    db: &SqlitePool,
    team_id: i64,
    platform: Platform,
    name: &str,
    by: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let result = sqlx::query!(
        "INSERT INTO stores (team_id, platform, name, created_by, created_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT DO NOTHING",
        team_id,
        platform.as_str(),
        name,
        by,
        now,
    )
    .execute(db)
    .await?;
    Ok(result.rows_affected() > 0)
}

/// Retires a store (its past incidents keep pointing at it); `false` if there was none.
pub async fn remove(db: &SqlitePool, team_id: i64, name: &str) -> sqlx::Result<bool> {
    let result =
        sqlx::query!("UPDATE stores SET active = 0 WHERE team_id = ? AND name = ? AND active = 1", team_id, name)
            .execute(db)
            .await?;
    Ok(result.rows_affected() > 0)
}

pub async fn list(db: &SqlitePool, team_id: i64) -> sqlx::Result<Vec<Store>> {
    sqlx::query_as!(
        Store,
        r#"SELECT id, team_id, platform AS "platform: Platform", name FROM stores
         WHERE team_id = ? AND active = 1 ORDER BY id"#,
        team_id,
    )
    .fetch_all(db)
    .await
}

pub async fn by_id(db: impl sqlx::SqliteExecutor<'_>, id: i64) -> sqlx::Result<Option<Store>> {
    sqlx::query_as!(Store, r#"SELECT id, team_id, platform AS "platform: Platform", name FROM stores WHERE id = ?"#, id)
        .fetch_optional(db)
        .await
}
