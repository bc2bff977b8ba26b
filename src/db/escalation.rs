//! What an escalation step reads and writes inside its transaction: whether the incident
//! still awaits a response, and which (person, action) pairs an earlier step already did.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use sqlx::{Sqlite, Transaction};

use crate::domain::escalation::Action;

/// The incident as a due step finds it.
pub struct StepState {
    /// Neither acknowledged nor resolved.
    pub awaits_response: bool,
    /// What earlier steps did already: a person is not called twice for one incident.
    pub done: HashSet<(i64, Action)>,
}

/// Marks the step's job done and reads the incident's state, in the step's transaction (which
/// holds the write lock, so an acknowledgement either committed before or waits).
pub async fn begin_step(
    transaction: &mut Transaction<'static, Sqlite>,
    job_id: i64,
    incident_id: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<StepState> {
    sqlx::query!("UPDATE jobs SET state = 'done', updated_at = ? WHERE id = ?", now, job_id)
        .execute(&mut **transaction)
        .await?;
    let awaits_response: Option<bool> = sqlx::query_scalar!(
        r#"SELECT acknowledged_at IS NULL AND resolved_at IS NULL AS "awaits_response: bool" FROM incidents
         WHERE id = ?"#,
        incident_id,
    )
    .fetch_optional(&mut **transaction)
    .await?;
    let done = sqlx::query!(
        r#"SELECT person_id, action AS "action: Action" FROM escalation_done WHERE incident_id = ?"#,
        incident_id,
    )
    .fetch_all(&mut **transaction)
    .await?
    .into_iter()
    .map(|row| (row.person_id, row.action))
    .collect();
    Ok(StepState { awaits_response: awaits_response.unwrap_or(false), done })
}

/// Records that `person` got `action` for this incident.
pub async fn mark_done(
    transaction: &mut Transaction<'static, Sqlite>,
    incident_id: i64,
    person: i64,
    action: Action,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT OR IGNORE INTO escalation_done (incident_id, person_id, action) VALUES (?, ?, ?)",
        incident_id,
        person,
        action,
    )
    .execute(&mut **transaction)
    .await?;
    Ok(())
}
