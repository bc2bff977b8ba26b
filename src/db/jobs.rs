//! The durable job queue: every deadline is a row in `jobs`, written in the same transaction
//! as the event that caused it. Kinds and states are typed here and checked by the schema.

use chrono::{DateTime, Utc};
use sqlx::{Sqlite, SqlitePool, Transaction};
use strum::{Display, EnumString, IntoStaticStr};

use crate::domain::escalation::Chain;

/// What a job does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Display, EnumString, IntoStaticStr, sqlx::Type)]
#[strum(serialize_all = "snake_case")]
#[sqlx(rename_all = "snake_case")]
pub enum JobKind {
    /// Post the relay to operations.
    Relay,
    /// Post the confirmation (guidance + live status) in the reporter's team group.
    Confirm,
    /// One step of the escalation chain (`step_index`).
    Step,
    /// A private message to `person_id`.
    Private,
    /// A mention in the team group of the people in `payload`.
    Mention,
    /// A phone call to `person_id`.
    Call,
    /// Hang up the call in `payload` (its incidents were all acknowledged).
    CallCancel,
    /// Make the call in `payload` speak only of its incidents still open.
    CallUpdate,
    /// Re-render the incident's live messages (payload `urgent` after an ack or resolution).
    Refresh,
    /// Tell the reporter (payload: `acknowledged` or `resolved`).
    NotifyReporter,
    /// A half-filled /anomaly form runs out (payload: `chat:user`).
    FormExpiry,
    /// A team's patrol is due (`person_id`: the team; payload: the local date).
    PatrolStart,
    /// Remind the patrol's owner (payload: the patrol).
    PatrolReminder,
    /// The patrol's deadline (payload: the patrol).
    PatrolDeadline,
    /// Post or redraw the checklist (payload: the patrol).
    PatrolRefresh,
}

/// Where a job stands: pending → running → done | failed | cancelled; calls go pending →
/// placing → ringing → done | failed | cancelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Display, EnumString, IntoStaticStr, sqlx::Type)]
#[strum(serialize_all = "snake_case")]
#[sqlx(rename_all = "snake_case")]
pub enum JobState {
    Pending,
    Running,
    Placing,
    Ringing,
    Done,
    Failed,
    Cancelled,
}

/// A claimed job.
#[derive(Clone, Debug)]
pub struct Job {
    pub id: i64,
    pub kind: JobKind,
    pub incident_id: Option<i64>,
    pub step_index: Option<i64>,
    pub person_id: Option<i64>,
    pub payload: Option<String>,
    pub due_at: DateTime<Utc>,
    pub attempts: i64,
}

/// Adds a job inside the caller's transaction.
pub async fn enqueue(
    transaction: &mut Transaction<'_, Sqlite>,
    kind: JobKind,
    incident_id: Option<i64>,
    person_id: Option<i64>,
    payload: Option<&str>,
    due_at: DateTime<Utc>,
) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        "INSERT INTO jobs (kind, incident_id, person_id, payload, due_at, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
        kind,
        incident_id,
        person_id,
        payload,
        due_at,
        due_at,
        due_at,
    )
    .fetch_one(&mut **transaction)
    .await
}

/// Schedules every step of the chain, counted from the report.
pub async fn schedule_chain(
    transaction: &mut Transaction<'_, Sqlite>,
    incident_id: i64,
    chain: &Chain,
    reported_at: DateTime<Utc>,
) -> sqlx::Result<()> {
    for (index, step) in chain.steps.iter().enumerate() {
        let due = reported_at + chrono::Duration::from_std(step.after).unwrap_or(chrono::Duration::MAX);
        sqlx::query!(
            "INSERT INTO jobs (kind, incident_id, step_index, due_at, created_at, updated_at) VALUES ('step', ?, ?, ?, ?, ?)",
            incident_id,
            i64::try_from(index).unwrap_or(i64::MAX),
            due,
            reported_at,
            reported_at,
        )
        .execute(&mut **transaction)
        .await?;
    }
    Ok(())
}

/// How long a change waits for others before the incident's messages are redrawn: a burst
/// of events (a step's calls, messages and mentions) costs one drawing, not one each.
pub const REFRESH_DEBOUNCE: chrono::Duration = chrono::Duration::seconds(1);

/// Asks for the incident's messages to be re-rendered. Several changes in a row share one
/// pending refresh, so the latest state wins. `urgent` (an acknowledgement or resolution) is
/// drawn at once, and its first edit skips the spacing between edits.
pub async fn enqueue_refresh(
    transaction: &mut Transaction<'_, Sqlite>,
    incident_id: i64,
    now: DateTime<Utc>,
    urgent: bool,
) -> sqlx::Result<()> {
    let payload = urgent.then_some("urgent");
    let due = if urgent { now } else { now + REFRESH_DEBOUNCE };
    let updated = sqlx::query!(
        "UPDATE jobs SET payload = COALESCE(?2, payload), due_at = MIN(due_at, ?3)
         WHERE kind = 'refresh' AND incident_id = ?1 AND state = 'pending'",
        incident_id,
        payload,
        due,
    )
    .execute(&mut **transaction)
    .await?;
    if updated.rows_affected() == 0 {
        sqlx::query!(
            "INSERT INTO jobs (kind, incident_id, payload, due_at, created_at, updated_at)
             VALUES ('refresh', ?1, ?2, ?3, ?4, ?4)",
            incident_id,
            payload,
            due,
            now,
        )
        .execute(&mut **transaction)
        .await?;
    }
    Ok(())
}

/// Asks for a checklist to be (re)drawn; several ticks share one pending refresh.
pub async fn enqueue_patrol_refresh(
    transaction: &mut Transaction<'_, Sqlite>,
    patrol_id: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO jobs (kind, payload, due_at, created_at, updated_at)
         SELECT 'patrol_refresh', ?1, ?2, ?2, ?2
         WHERE NOT EXISTS (SELECT 1 FROM jobs WHERE kind = 'patrol_refresh' AND payload = ?1 AND state = 'pending')",
        patrol_id.to_string(),
        now,
    )
    .execute(&mut **transaction)
    .await?;
    Ok(())
}

/// Stops an incident's escalation: cancels its pending steps, calls, messages and mentions,
/// and the calls already claimed for it. A call already placed is hung up — or, when it also
/// speaks of other incidents still open, made to speak only of those — by a job written here,
/// in the same transaction as the acknowledgement.
pub async fn cancel_escalation(
    transaction: &mut Transaction<'_, Sqlite>,
    incident_id: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE jobs SET state = 'cancelled', updated_at = ?
         WHERE incident_id = ? AND state = 'pending' AND kind IN ('step', 'call', 'private', 'mention')",
        now,
        incident_id,
    )
    .execute(&mut **transaction)
    .await?;
    let claimed = sqlx::query!(
        "UPDATE jobs SET state = 'cancelled', updated_at = ?
         WHERE incident_id = ? AND kind = 'call' AND state IN ('placing', 'ringing')
         RETURNING call_sid, person_id",
        now,
        incident_id,
    )
    .fetch_all(&mut **transaction)
    .await?;
    for call in claimed {
        // A call still being placed has no sid yet: its placer sees the cancellation and hangs up.
        let Some(sid) = call.call_sid else { continue };
        let others: i64 = sqlx::query_scalar!(
            "SELECT COUNT(*) FROM jobs WHERE call_sid = ? AND state IN ('placing', 'ringing')",
            sid,
        )
        .fetch_one(&mut **transaction)
        .await?;
        let kind = if others == 0 { JobKind::CallCancel } else { JobKind::CallUpdate };
        enqueue(transaction, kind, Some(incident_id), call.person_id, Some(&sid), now).await?;
    }
    Ok(())
}

/// The next escalation step still waiting: (step index, due time).
pub async fn next_pending_step(
    db: impl sqlx::SqliteExecutor<'_>,
    incident_id: i64,
) -> sqlx::Result<Option<(i64, DateTime<Utc>)>> {
    let step = sqlx::query!(
        r#"SELECT step_index AS "step_index!", due_at AS "due_at: DateTime<Utc>" FROM jobs
         WHERE incident_id = ? AND kind = 'step' AND state = 'pending'
         ORDER BY due_at, step_index LIMIT 1"#,
        incident_id,
    )
    .fetch_optional(db)
    .await?;
    Ok(step.map(|step| (step.step_index, step.due_at)))
}

/// The earliest job the runner could claim: a call waiting for the same person's call in
/// progress is not claimable until that call ends (which wakes the runner).
pub async fn next_due(db: &SqlitePool) -> sqlx::Result<Option<DateTime<Utc>>> {
    sqlx::query_scalar!(
        r#"SELECT MIN(due_at) AS "due_at: DateTime<Utc>" FROM jobs
         WHERE state = 'pending'
           AND NOT (kind = 'call' AND person_id IN (SELECT person_id FROM jobs WHERE kind = 'call'
                                                      AND state IN ('placing', 'ringing') AND person_id IS NOT NULL))"#,
    )
    .fetch_one(db)
    .await
}

/// Claims every due job except calls: one statement moves them to `running`, so no job is
/// claimed twice. Escalation steps come first.
pub async fn claim_due(db: &SqlitePool, now: DateTime<Utc>) -> sqlx::Result<Vec<Job>> {
    sqlx::query_as!(
        Job,
        r#"UPDATE jobs SET state = 'running', updated_at = ?1
         WHERE id IN (SELECT id FROM jobs WHERE state = 'pending' AND kind <> 'call' AND due_at <= ?1
                      ORDER BY kind <> 'step', due_at, id LIMIT 500)
         RETURNING id, kind AS "kind: JobKind", incident_id, step_index, person_id, payload,
                   due_at AS "due_at: DateTime<Utc>", attempts"#,
        now,
    )
    .fetch_all(db)
    .await
}

/// After a crash: half-done work is made due again (marked possibly repeated); calls that
/// were being placed will be looked up before they are placed again. Live messages that may
/// have had a render waiting get a refresh. Returns how many jobs were interrupted.
pub async fn recover(db: &SqlitePool, now: DateTime<Utc>) -> sqlx::Result<u64> {
    let mut transaction = crate::db::begin(db).await?;
    let rerun =
        sqlx::query!("UPDATE jobs SET state = 'pending', repeated = 1, updated_at = ? WHERE state = 'running'", now)
            .execute(&mut *transaction)
            .await?;
    let unknown = sqlx::query!(
        "UPDATE jobs SET state = 'pending', outcome_unknown = 1, updated_at = ?
         WHERE state = 'placing' AND call_sid IS NULL",
        now,
    )
    .execute(&mut *transaction)
    .await?;
    // A render waiting in the lane when the process stopped is gone: redraw every live message
    // that may still change. Those already right are not edited (their hash says so).
    let since = now - chrono::Duration::days(1);
    sqlx::query!(
        "INSERT INTO jobs (kind, incident_id, due_at, created_at, updated_at)
         SELECT 'refresh', id, ?1, ?1, ?1 FROM incidents
         WHERE (resolved_at IS NULL OR resolved_at > ?2) AND (team_message_id IS NOT NULL OR ops_message_id IS NOT NULL)
           AND NOT EXISTS (SELECT 1 FROM jobs WHERE kind = 'refresh' AND state = 'pending' AND jobs.incident_id = incidents.id)",
        now,
        since,
    )
    .execute(&mut *transaction)
    .await?;
    sqlx::query!(
        "INSERT INTO jobs (kind, payload, due_at, created_at, updated_at)
         SELECT 'patrol_refresh', CAST(id AS TEXT), ?1, ?1, ?1 FROM patrols
         WHERE message_id IS NOT NULL AND (completed_at IS NULL OR completed_at > ?2) AND deadline_at > ?2
           AND NOT EXISTS (SELECT 1 FROM jobs WHERE kind = 'patrol_refresh' AND state = 'pending'
                           AND jobs.payload = CAST(patrols.id AS TEXT))",
        now,
        since,
    )
    .execute(&mut *transaction)
    .await?;
    transaction.commit().await?;
    Ok(rerun.rows_affected() + unknown.rows_affected())
}

/// Records a job's outcome.
pub async fn set_state(db: &SqlitePool, job_id: i64, state: JobState, error: Option<&str>) -> sqlx::Result<()> {
    sqlx::query!("UPDATE jobs SET state = ?, last_error = COALESCE(?, last_error) WHERE id = ?", state, error, job_id)
        .execute(db)
        .await?;
    Ok(())
}

/// Puts a failed job back, due again at `due`.
pub async fn retry_at(
    db: &SqlitePool,
    job_id: i64,
    attempts: i64,
    due: DateTime<Utc>,
    error: &str,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE jobs SET state = 'pending', attempts = ?, due_at = ?, last_error = ? WHERE id = ?",
        attempts,
        due,
        error,
        job_id,
    )
    .execute(db)
    .await?;
    Ok(())
}
