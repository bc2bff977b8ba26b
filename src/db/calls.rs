//! Call jobs: claimed per person, moved through placing → ringing → done or failed, retried,
//! and read for what each call should say.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::SqlitePool;

use crate::domain::calls::{SpokenIncident, merge_per_person};
use crate::domain::contact::PhoneNumber;
use crate::domain::incident::{AnomalyKind, EventKind, IncidentKind};
use crate::domain::store::Platform;
use crate::i18n::Lang;

/// A call job claimed for placing.
#[derive(Clone, Debug)]
pub struct CallJob {
    pub id: i64,
    pub incident_id: Option<i64>,
    pub repeated: bool,
    /// Times the provider was unreachable for this call, for the backoff.
    pub provider_failures: i64,
    /// When the attempt whose outcome is unknown began.
    pub attempted_at: Option<DateTime<Utc>>,
    pub outcome_unknown: bool,
}

/// Claims due calls in one statement, grouped per person: all of a person's due calls merge
/// into one, and a person already being called waits until that call ends. (The `IN`
/// subqueries are evaluated once, before any row changes.)
pub async fn claim(db: &SqlitePool, now: DateTime<Utc>) -> sqlx::Result<Vec<(i64, Vec<CallJob>)>> {
    let claimed = sqlx::query!(
        r#"UPDATE jobs SET state = 'placing', updated_at = ?1,
             attempted_at = CASE WHEN outcome_unknown = 1 THEN attempted_at ELSE ?1 END
         WHERE kind = 'call' AND state = 'pending' AND due_at <= ?1 AND person_id IS NOT NULL
           AND person_id NOT IN (SELECT person_id FROM jobs WHERE kind = 'call' AND state IN ('placing', 'ringing')
                                   AND person_id IS NOT NULL)
         RETURNING person_id AS "person_id!", id, incident_id, repeated AS "repeated: bool",
                   CAST(COALESCE(payload, '0') AS INTEGER) AS provider_failures,
                   attempted_at AS "attempted_at: DateTime<Utc>", outcome_unknown AS "outcome_unknown: bool""#,
        now,
    )
    .fetch_all(db)
    .await?;
    Ok(merge_per_person(claimed.into_iter().map(|row| {
        let job = CallJob {
            id: row.id,
            incident_id: row.incident_id,
            repeated: row.repeated,
            provider_failures: row.provider_failures,
            attempted_at: row.attempted_at,
            outcome_unknown: row.outcome_unknown,
        };
        (row.person_id, job)
    })))
}

/// Everything needed to place one person's call.
#[derive(Clone, Debug, Default)]
pub struct CallPlan {
    pub number: Option<PhoneNumber>,
    pub lang: Option<Lang>,
    pub incidents: Vec<SpokenIncident>,
}

fn ids_json(jobs: &[CallJob]) -> String {
    serde_json::to_string(&jobs.iter().map(|job| job.id).collect::<Vec<_>>()).unwrap_or_else(|_| "[]".to_owned())
}

/// What every claimed call should say and where it goes, read in one query for all of them,
/// so that a burst of calls goes out without a database round trip each.
pub async fn plan(db: &SqlitePool, groups: &[(i64, Vec<CallJob>)]) -> sqlx::Result<HashMap<i64, CallPlan>> {
    let jobs: Vec<CallJob> = groups.iter().flat_map(|(_, jobs)| jobs.iter().cloned()).collect();
    let rows = sqlx::query!(
        r#"SELECT jobs.person_id AS "person_id!", phone_numbers.number AS "number?", chats.language AS "language?",
                incidents.id AS id, incidents.kind AS "incident_kind: IncidentKind",
                incidents.anomaly_kind AS "kind: AnomalyKind",
                stores.platform AS "platform?: Platform", stores.name AS "store?"
         FROM jobs
         JOIN incidents ON incidents.id = jobs.incident_id
         LEFT JOIN stores ON stores.id = incidents.store_id
         LEFT JOIN phone_numbers ON phone_numbers.user_id = jobs.person_id
         LEFT JOIN chats ON chats.chat_id = jobs.person_id
         WHERE jobs.id IN (SELECT value FROM json_each(?))
         ORDER BY jobs.person_id, incidents.id"#,
        ids_json(&jobs),
    )
    .fetch_all(db)
    .await?;
    let mut plans: HashMap<i64, CallPlan> = HashMap::new();
    for row in rows {
        let plan = plans.entry(row.person_id).or_default();
        plan.number = row.number.as_deref().and_then(|number| PhoneNumber::parse(number).ok());
        plan.lang = row.language.as_deref().and_then(Lang::parse);
        if !plan.incidents.iter().any(|incident| incident.id == row.id) {
            plan.incidents.push(SpokenIncident {
                id: row.id,
                incident_kind: row.incident_kind,
                kind: row.kind,
                platform: row.platform,
                store: row.store,
            });
        }
    }
    Ok(plans)
}

/// What a call's change of state writes in the timeline of each incident it moves.
#[derive(Clone, Copy, Debug)]
pub struct CallEvent<'a> {
    pub kind: EventKind,
    /// The person called.
    pub person_id: i64,
    pub detail: Option<&'a str>,
    pub at: DateTime<Utc>,
}

/// Moves the jobs still in `from` to `to` and records `event` for each incident moved (with a
/// redraw of its messages), in one transaction; returns the incidents of the jobs it moved.
pub async fn transition(
    db: &SqlitePool,
    jobs: &[CallJob],
    from: &str,
    to: &str,
    sid: Option<&str>,
    error: Option<&str>,
    event: Option<CallEvent<'_>>,
) -> sqlx::Result<Vec<i64>> {
    let mut transaction = super::begin(db).await?;
    let moved = sqlx::query_scalar!(
        r#"UPDATE jobs SET state = ?, call_sid = COALESCE(?, call_sid), last_error = COALESCE(?, last_error)
         WHERE id IN (SELECT value FROM json_each(?)) AND state = ?
         RETURNING incident_id AS "incident_id!""#,
        to,
        sid,
        error,
        ids_json(jobs),
        from,
    )
    .fetch_all(&mut *transaction)
    .await?;
    if let Some(event) = event {
        let mut recorded = Vec::new();
        for incident_id in &moved {
            if recorded.contains(incident_id) {
                continue;
            }
            recorded.push(*incident_id);
            let (kind, person, detail) = (event.kind, Some(event.person_id), event.detail);
            super::incidents::record(&mut transaction, *incident_id, event.at, kind, None, person, detail).await?;
            super::jobs::enqueue_refresh(&mut transaction, *incident_id, event.at, false).await?;
        }
    }
    transaction.commit().await?;
    Ok(moved)
}

/// The claimed jobs whose incidents still wait for someone: an acknowledgement since the
/// claim has cancelled the others.
pub async fn still_open(db: &SqlitePool, jobs: &[CallJob]) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar!(
        "SELECT jobs.id FROM jobs JOIN incidents ON incidents.id = jobs.incident_id
         WHERE jobs.id IN (SELECT value FROM json_each(?)) AND jobs.state = 'placing'
           AND incidents.acknowledged_at IS NULL AND incidents.resolved_at IS NULL",
        ids_json(jobs),
    )
    .fetch_all(db)
    .await
}

/// The provider did not answer: the calls wait until `due`, their outcome unknown (the
/// request may have arrived all the same). Returns the incidents they were for.
pub async fn provider_unavailable(
    db: &SqlitePool,
    jobs: &[CallJob],
    due: DateTime<Utc>,
    reason: &str,
    failures: i64,
) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar!(
        r#"UPDATE jobs SET state = 'pending', due_at = ?, last_error = ?, payload = ?, outcome_unknown = 1
         WHERE id IN (SELECT value FROM json_each(?)) AND state = 'placing'
         RETURNING incident_id AS "incident_id!""#,
        due,
        reason,
        failures.to_string(),
        ids_json(jobs),
    )
    .fetch_all(db)
    .await
}

/// A call ended: its jobs still ringing become `state`. Returns (incident, calls made so far)
/// for each.
pub async fn ended(db: &SqlitePool, sid: &str, state: &str, detail: Option<&str>) -> sqlx::Result<Vec<(i64, i64)>> {
    let rows = sqlx::query!(
        "UPDATE jobs SET state = ?, last_error = COALESCE(?, last_error)
         WHERE call_sid = ? AND state = 'ringing' RETURNING incident_id, attempts",
        state,
        detail,
        sid,
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().filter_map(|row| row.incident_id.map(|incident| (incident, row.attempts))).collect())
}

/// Calls ringing when the bot stopped: (sid, person), one per call.
pub async fn ringing(db: &SqlitePool) -> sqlx::Result<Vec<(String, i64)>> {
    let rows = sqlx::query!(
        r#"SELECT call_sid AS "call_sid!", person_id AS "person_id!" FROM jobs
         WHERE kind = 'call' AND state = 'ringing' AND call_sid IS NOT NULL AND person_id IS NOT NULL GROUP BY call_sid"#,
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|row| (row.call_sid, row.person_id)).collect())
}

/// What a call still speaks of: the incidents of its jobs still ringing.
pub async fn still_spoken_of(db: &SqlitePool, sid: &str) -> sqlx::Result<Vec<SpokenIncident>> {
    sqlx::query_as!(
        SpokenIncident,
        r#"SELECT incidents.id AS id, incidents.kind AS "incident_kind: IncidentKind",
                incidents.anomaly_kind AS "kind: AnomalyKind",
                stores.platform AS "platform?: Platform", stores.name AS "store?"
         FROM jobs JOIN incidents ON incidents.id = jobs.incident_id LEFT JOIN stores ON stores.id = incidents.store_id
         WHERE jobs.call_sid = ? AND jobs.state = 'ringing' ORDER BY incidents.id"#,
        sid,
    )
    .fetch_all(db)
    .await
}

/// How many jobs still need a call: placing or ringing under this sid.
pub async fn still_needed(db: &SqlitePool, sid: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar!("SELECT COUNT(*) FROM jobs WHERE call_sid = ? AND state IN ('placing', 'ringing')", sid)
        .fetch_one(db)
        .await
}

/// Adds a retry of a failed call, only while nobody has acknowledged: checked in the same
/// statement that adds it. Returns whether it was added.
pub async fn retry(
    transaction: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    incident_id: i64,
    person_id: i64,
    attempts: i64,
    due: DateTime<Utc>,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let inserted = sqlx::query!(
        "INSERT INTO jobs (kind, incident_id, person_id, due_at, attempts, created_at, updated_at)
         SELECT 'call', id, ?, ?, ?, ?, ? FROM incidents WHERE id = ? AND acknowledged_at IS NULL AND resolved_at IS NULL",
        person_id,
        due,
        attempts,
        now,
        now,
        incident_id,
    )
    .execute(&mut **transaction)
    .await?
    .rows_affected();
    Ok(inserted > 0)
}
