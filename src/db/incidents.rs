//! Incidents and their timelines: filing a report (with its relay, confirmation and
//! escalation chain as jobs, in one transaction), acknowledging and resolving (the first one
//! wins, and escalation stops in the same transaction), where their live messages are, and
//! the incidents their messages show.

use chrono::{DateTime, Utc};
use sqlx::{Sqlite, SqliteExecutor, SqlitePool, Transaction};

use super::jobs::{self, JobKind};
use crate::domain::escalation::Chain;
use crate::domain::incident::{self, AnomalyKind, Event, EventKind, Incident, IncidentKind, Outcome, Severity};
use crate::domain::store::Store;

/// Reads [`Incident`]s: their typed columns, then the rest of the query, joined into one literal
/// so that the whole query is checked when it is compiled.
macro_rules! select_incidents {
    ($rest:literal $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            Incident,
            r#"SELECT id, kind AS "kind: IncidentKind", severity AS "severity: Severity", team_id, store_id,
                   anomaly_kind AS "anomaly_kind: AnomalyKind", description, reporter_id,
                   reported_at AS "reported_at: DateTime<Utc>", report_chat_id, report_message_id, team_chat_id,
                   team_message_id, ops_chat_id, ops_message_id, acknowledged_at AS "acknowledged_at: DateTime<Utc>",
                   acknowledged_by, resolved_at AS "resolved_at: DateTime<Utc>", resolved_by, resolution
               FROM incidents "# + $rest
            $(, $arg)*
        )
    };
}

pub async fn get(db: impl SqliteExecutor<'_>, id: i64) -> sqlx::Result<Option<Incident>> {
    select_incidents!("WHERE id = ?", id).fetch_optional(db).await
}

/// Open incidents, oldest first.
pub async fn open(db: &SqlitePool) -> sqlx::Result<Vec<Incident>> {
    select_incidents!("WHERE resolved_at IS NULL ORDER BY id").fetch_all(db).await
}

/// The incidents a live message shows: one for a single relay or confirmation, several for a
/// digest. `relay` picks the cross-department message, else the team-group one.
pub async fn on_message(
    db: impl SqliteExecutor<'_>,
    chat_id: i64,
    message_id: i64,
    relay: bool,
) -> sqlx::Result<Vec<Incident>> {
    if relay {
        select_incidents!("WHERE ops_chat_id = ? AND ops_message_id = ? ORDER BY id", chat_id, message_id)
            .fetch_all(db)
            .await
    } else {
        select_incidents!("WHERE team_chat_id = ? AND team_message_id = ? ORDER BY id", chat_id, message_id)
            .fetch_all(db)
            .await
    }
}

/// Appends to the timeline inside a transaction.
pub async fn record(
    transaction: &mut Transaction<'_, Sqlite>,
    incident_id: i64,
    at: DateTime<Utc>,
    kind: EventKind,
    actor_id: Option<i64>,
    subject_id: Option<i64>,
    detail: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO incident_events (incident_id, at, kind, actor_id, subject_id, detail) VALUES (?, ?, ?, ?, ?, ?)",
        incident_id,
        at,
        kind,
        actor_id,
        subject_id,
        detail,
    )
    .execute(&mut **transaction)
    .await?;
    Ok(())
}

/// Appends to the timeline on its own, and has the live messages redrawn.
pub async fn record_now(
    db: &SqlitePool,
    incident_id: i64,
    at: DateTime<Utc>,
    kind: EventKind,
    subject_id: Option<i64>,
    detail: Option<&str>,
) -> sqlx::Result<()> {
    let mut transaction = super::begin(db).await?;
    record(&mut transaction, incident_id, at, kind, None, subject_id, detail).await?;
    jobs::enqueue_refresh(&mut transaction, incident_id, at, false).await?;
    transaction.commit().await
}

pub async fn events(db: impl SqliteExecutor<'_>, incident_id: i64) -> sqlx::Result<Vec<Event>> {
    sqlx::query_as!(
        Event,
        r#"SELECT at AS "at: DateTime<Utc>", kind AS "kind: EventKind", actor_id, subject_id, detail
         FROM incident_events WHERE incident_id = ? ORDER BY id"#,
        incident_id,
    )
    .fetch_all(db)
    .await
}

/// Records an acknowledgement: the first one wins ([`incident::acknowledgement`]), decided
/// inside a transaction that holds the write lock, which also cancels every pending escalation
/// job and stops calls already claimed. A step is either already running or never runs.
pub async fn acknowledge(db: &SqlitePool, incident_id: i64, by: i64, now: DateTime<Utc>) -> sqlx::Result<Outcome> {
    let mut transaction = super::begin(db).await?;
    let current = get_in(&mut transaction, incident_id).await?;
    let outcome = incident::acknowledgement(current.as_ref());
    if outcome != Outcome::Done {
        return Ok(outcome);
    }
    sqlx::query!("UPDATE incidents SET acknowledged_at = ?, acknowledged_by = ? WHERE id = ?", now, by, incident_id)
        .execute(&mut *transaction)
        .await?;
    jobs::cancel_escalation(&mut transaction, incident_id, now).await?;
    record(&mut transaction, incident_id, now, EventKind::Acknowledged, Some(by), None, None).await?;
    jobs::enqueue_refresh(&mut transaction, incident_id, now, true).await?;
    let notice = EventKind::Acknowledged.as_str();
    jobs::enqueue(&mut transaction, JobKind::NotifyReporter, Some(incident_id), None, Some(notice), now).await?;
    transaction.commit().await?;
    Ok(Outcome::Done)
}

/// Records a resolution (which also acknowledges one nobody had acknowledged).
pub async fn resolve(
    db: &SqlitePool,
    incident_id: i64,
    by: i64,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> sqlx::Result<Outcome> {
    let mut transaction = super::begin(db).await?;
    let current = get_in(&mut transaction, incident_id).await?;
    let outcome = incident::resolution(current.as_ref());
    if outcome != Outcome::Done {
        return Ok(outcome);
    }
    let was_acknowledged = current.is_some_and(|incident| incident.acknowledged_at.is_some());
    sqlx::query!(
        "UPDATE incidents SET resolved_at = ?, resolved_by = ?, resolution = ?,
             acknowledged_at = COALESCE(acknowledged_at, ?), acknowledged_by = COALESCE(acknowledged_by, ?)
         WHERE id = ?",
        now,
        by,
        note,
        now,
        by,
        incident_id,
    )
    .execute(&mut *transaction)
    .await?;
    jobs::cancel_escalation(&mut transaction, incident_id, now).await?;
    if !was_acknowledged {
        record(&mut transaction, incident_id, now, EventKind::Acknowledged, Some(by), None, None).await?;
    }
    record(&mut transaction, incident_id, now, EventKind::Resolved, Some(by), None, note).await?;
    jobs::enqueue_refresh(&mut transaction, incident_id, now, true).await?;
    let notice = EventKind::Resolved.as_str();
    jobs::enqueue(&mut transaction, JobKind::NotifyReporter, Some(incident_id), None, Some(notice), now).await?;
    transaction.commit().await?;
    Ok(Outcome::Done)
}

async fn get_in(transaction: &mut Transaction<'_, Sqlite>, id: i64) -> sqlx::Result<Option<Incident>> {
    select_incidents!("WHERE id = ?", id).fetch_optional(&mut **transaction).await
}

/// Records where an incident's relay went (one relay, or a digest carrying several), once:
/// the first record wins, and each incident's timeline says it was relayed.
pub async fn set_relay_message(
    db: &SqlitePool,
    ids: &[i64],
    chat_id: i64,
    message_id: i32,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let mut transaction = super::begin(db).await?;
    let changed: Vec<i64> = sqlx::query_scalar!(
        "UPDATE incidents SET ops_chat_id = ?, ops_message_id = ?
         WHERE id IN (SELECT value FROM json_each(?)) AND ops_message_id IS NULL RETURNING id",
        chat_id,
        message_id,
        serde_json::to_string(ids)?,
    )
    .fetch_all(&mut *transaction)
    .await?;
    for id in changed {
        record(&mut transaction, id, now, EventKind::Relayed, None, None, None).await?;
        jobs::enqueue_refresh(&mut transaction, id, now, false).await?;
    }
    transaction.commit().await?;
    Ok(())
}

/// Records where an incident's confirmation went in its team group, once.
pub async fn set_team_message(db: &SqlitePool, ids: &[i64], chat_id: i64, message_id: i32) -> anyhow::Result<()> {
    sqlx::query!(
        "UPDATE incidents SET team_chat_id = ?, team_message_id = ?
         WHERE id IN (SELECT value FROM json_each(?)) AND team_message_id IS NULL",
        chat_id,
        message_id,
        serde_json::to_string(ids)?,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// The live cross-department group, if one is bound.
pub async fn ops_group(db: impl SqliteExecutor<'_>) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar!("SELECT chat_id FROM chats WHERE binding = 'ops' AND active = 1").fetch_optional(db).await
}

/// A complete store-anomaly report.
pub struct Report<'a> {
    pub team_id: i64,
    pub store: &'a Store,
    pub kind: AnomalyKind,
    pub description: &'a str,
    pub reporter_id: i64,
    pub chat_id: i64,
    pub message_id: i32,
}

/// What a report became.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filed {
    New(i64),
    /// An open incident for the same store and kind existed: the report joined it.
    Joined(i64),
}

/// Times a report is tried against a busy database, each after the busy timeout.
const FILE_ATTEMPTS: u32 = 5;

/// Records a report in one transaction: the incident, its first timeline event, the
/// confirmation, the relay and every escalation step as durable jobs. A second report of the
/// same store and kind while one is open joins it instead. A busy database is waited out (the
/// busy timeout, then again): a report is never lost to contention.
pub async fn file(db: &SqlitePool, chain: &Chain, report: &Report<'_>, now: DateTime<Utc>) -> sqlx::Result<Filed> {
    let mut attempt = 1;
    loop {
        match file_once(db, chain, report, now).await {
            Err(error) if super::is_busy(&error) && attempt < FILE_ATTEMPTS => {
                tracing::warn!(attempt, %error, "the database was busy while filing a report; trying again");
                attempt += 1;
            }
            result => return result,
        }
    }
}

async fn file_once(db: &SqlitePool, chain: &Chain, report: &Report<'_>, now: DateTime<Utc>) -> sqlx::Result<Filed> {
    let mut transaction = super::begin(db).await?;
    let open: Option<i64> = sqlx::query_scalar!(
        "SELECT id FROM incidents WHERE store_id = ? AND anomaly_kind = ? AND resolved_at IS NULL ORDER BY id LIMIT 1",
        report.store.id,
        report.kind,
    )
    .fetch_optional(&mut *transaction)
    .await?;
    if let Some(id) = open {
        record(&mut transaction, id, now, EventKind::Joined, Some(report.reporter_id), None, Some(report.description))
            .await?;
        jobs::enqueue_refresh(&mut transaction, id, now, false).await?;
        transaction.commit().await?;
        return Ok(Filed::Joined(id));
    }
    let id: i64 = sqlx::query_scalar!(
        r#"INSERT INTO incidents (kind, severity, team_id, store_id, anomaly_kind, description, reporter_id, reported_at,
             report_chat_id, report_message_id)
         VALUES ('store_anomaly', 'yellow', ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id AS "id!""#,
        report.team_id,
        report.store.id,
        report.kind,
        report.description,
        report.reporter_id,
        now,
        report.chat_id,
        report.message_id,
    )
    .fetch_one(&mut *transaction)
    .await?;
    record(&mut transaction, id, now, EventKind::Reported, Some(report.reporter_id), None, None).await?;
    jobs::enqueue(&mut transaction, JobKind::Confirm, Some(id), None, None, now).await?;
    jobs::enqueue(&mut transaction, JobKind::Relay, Some(id), None, None, now).await?;
    jobs::schedule_chain(&mut transaction, id, chain, now).await?;
    transaction.commit().await?;
    Ok(Filed::New(id))
}
