//! Phone calls: claimed per person (every due call for one person merges into one, and
//! nobody is called twice at once), placed with what is true at that moment, followed until
//! they end, retried when unanswered, hung up when every incident they speak of was
//! acknowledged, and never placed twice: when an earlier attempt's outcome is unknown (the
//! request timed out, or the bot died while placing), the provider is asked first.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sqlx::{FromRow, SqlitePool};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::{Job, enqueue_refresh};
use crate::i18n::Lang;
use crate::incident::{self, EventKind};
use crate::phone::{CallRequest, CallStatus, PhoneError};
use crate::telegram::Floor;
use crate::{contact, store, team, tp};

/// How often a ringing call's status is read.
const CALL_POLL_INTERVAL: chrono::Duration = chrono::Duration::seconds(2);
/// How far before an uncertain attempt a call found at the provider may have been created
/// (the provider's clock and ours differ a little).
const LOOKUP_SKEW: chrono::Duration = chrono::Duration::seconds(60);

/// A call job claimed for placing.
#[derive(Clone, Debug, FromRow)]
pub(super) struct CallJob {
    id: i64,
    incident_id: Option<i64>,
    repeated: bool,
    /// Times the provider was unreachable for this call, for the backoff.
    provider_failures: i64,
    /// When the attempt whose outcome is unknown began.
    attempted_at: Option<DateTime<Utc>>,
    outcome_unknown: bool,
}

#[derive(FromRow)]
struct ClaimedCall {
    person_id: i64,
    #[sqlx(flatten)]
    job: CallJob,
}

/// Claims due calls in one statement, grouped per person: all of a person's due calls merge
/// into one, and a person already being called waits until that call ends. (The `IN`
/// subqueries are evaluated once, before any row changes.)
pub(super) async fn claim(db: &SqlitePool, now: DateTime<Utc>) -> sqlx::Result<Vec<(i64, Vec<CallJob>)>> {
    let claimed: Vec<ClaimedCall> = sqlx::query_as(
        "UPDATE jobs SET state = 'placing', updated_at = ?1,
             attempted_at = CASE WHEN outcome_unknown = 1 THEN attempted_at ELSE ?1 END
         WHERE kind = 'call' AND state = 'pending' AND due_at <= ?1 AND person_id IS NOT NULL
           AND person_id NOT IN (SELECT person_id FROM jobs WHERE kind = 'call' AND state IN ('placing', 'ringing')
                                   AND person_id IS NOT NULL)
         RETURNING person_id, id, incident_id, repeated,
                   CAST(COALESCE(payload, '0') AS INTEGER) AS provider_failures, attempted_at, outcome_unknown",
    )
    .bind(now)
    .fetch_all(db)
    .await?;
    let mut groups: Vec<(i64, Vec<CallJob>)> = Vec::new();
    for ClaimedCall { person_id, job } in claimed {
        match groups.iter_mut().find(|(person, _)| *person == person_id) {
            Some((_, jobs)) => jobs.push(job),
            None => groups.push((person_id, vec![job])),
        }
    }
    Ok(groups)
}

/// Places every claimed group, each in a task holding a call slot only while placing.
pub(super) async fn spawn_all(
    floor: &Arc<Floor>,
    groups: Vec<(i64, Vec<CallJob>)>,
    slots: &Arc<Semaphore>,
    tasks: &mut JoinSet<()>,
    shutdown: &CancellationToken,
) {
    if groups.is_empty() {
        return;
    }
    let mut plans = plan(&floor.db, &groups).await.unwrap_or_else(|error| {
        tracing::error!(%error, "could not read what the calls should say");
        HashMap::new()
    });
    for (person_id, jobs) in groups {
        let plan = plans.remove(&person_id).unwrap_or_default();
        let floor = Arc::clone(floor);
        let shutdown = shutdown.clone();
        let slots = Arc::clone(slots);
        tasks.spawn(async move {
            let Ok(permit) = slots.acquire_owned().await else { return };
            place(&floor, person_id, jobs, plan, permit, &shutdown).await;
        });
    }
}

/// One incident as a call mentions it.
#[derive(Clone, Debug, FromRow)]
struct PlannedIncident {
    id: i64,
    kind: Option<String>,
    platform: Option<String>,
    store: Option<String>,
}

/// Everything needed to place one person's call, read in one query for every call claimed
/// together, so that a burst of calls goes out without a database round trip each.
#[derive(Clone, Debug, Default)]
pub(super) struct CallPlan {
    number: Option<contact::PhoneNumber>,
    lang: Option<Lang>,
    incidents: Vec<PlannedIncident>,
}

#[derive(FromRow)]
struct PlanRow {
    person_id: i64,
    number: Option<String>,
    language: Option<String>,
    incident_id: i64,
    anomaly_kind: Option<String>,
    platform: Option<String>,
    store_name: Option<String>,
}

async fn plan(db: &SqlitePool, groups: &[(i64, Vec<CallJob>)]) -> sqlx::Result<HashMap<i64, CallPlan>> {
    let ids: Vec<i64> = groups.iter().flat_map(|(_, jobs)| jobs.iter().map(|job| job.id)).collect();
    let ids = serde_json::to_string(&ids).unwrap_or_else(|_| "[]".to_owned());
    let rows: Vec<PlanRow> = sqlx::query_as(
        "SELECT jobs.person_id AS person_id, phone_numbers.number AS number, chats.language AS language,
                incidents.id AS incident_id, incidents.anomaly_kind AS anomaly_kind,
                stores.platform AS platform, stores.name AS store_name
         FROM jobs
         JOIN incidents ON incidents.id = jobs.incident_id
         LEFT JOIN stores ON stores.id = incidents.store_id
         LEFT JOIN phone_numbers ON phone_numbers.user_id = jobs.person_id
         LEFT JOIN chats ON chats.chat_id = jobs.person_id
         WHERE jobs.id IN (SELECT value FROM json_each(?))
         ORDER BY jobs.person_id, incidents.id",
    )
    .bind(ids)
    .fetch_all(db)
    .await?;
    let mut plans: HashMap<i64, CallPlan> = HashMap::new();
    for row in rows {
        let plan = plans.entry(row.person_id).or_default();
        plan.number = row.number.as_deref().and_then(|number| contact::PhoneNumber::parse(number).ok());
        plan.lang = row.language.as_deref().and_then(Lang::parse);
        if !plan.incidents.iter().any(|incident| incident.id == row.incident_id) {
            plan.incidents.push(PlannedIncident {
                id: row.incident_id,
                kind: row.anomaly_kind,
                platform: row.platform,
                store: row.store_name,
            });
        }
    }
    Ok(plans)
}

/// The words spoken on the call: one anomaly, or several waiting for the same person.
fn call_text(floor: &Floor, lang: Lang, incidents: &[&PlannedIncident]) -> String {
    let i18n = &floor.i18n;
    if let [incident] = incidents {
        let kind = incident
            .kind
            .as_deref()
            .and_then(crate::anomaly::AnomalyKind::parse)
            .unwrap_or(crate::anomaly::AnomalyKind::Other);
        let store = match (&incident.platform, &incident.store) {
            (Some(platform), Some(name)) => {
                let platform = store::Platform::parse(platform).unwrap_or(store::Platform::Other);
                format!("{} · {name}", platform.label(i18n, lang))
            }
            _ => String::new(),
        };
        return tp!(i18n, lang, "call-one", number = incident.id, store = store, kind = kind.label(i18n, lang));
    }
    let numbers = incidents.iter().map(|incident| incident.id.to_string()).collect::<Vec<_>>().join(", ");
    tp!(i18n, lang, "call-many", count = incidents.len(), numbers = numbers)
}

async fn record_for(floor: &Floor, incidents: &[i64], kind: EventKind, person_id: i64, detail: Option<&str>) {
    let now = floor.clock.now();
    for incident_id in incidents {
        if let Err(error) = incident::record_now(&floor.db, *incident_id, now, kind, Some(person_id), detail).await {
            tracing::error!(incident = incident_id, %error, "could not record a call event");
        }
    }
    // Each event queued a refresh of the live messages.
    floor.scheduler.wake();
}

fn incidents_of(jobs: &[CallJob]) -> Vec<i64> {
    jobs.iter().filter_map(|job| job.incident_id).collect()
}

fn ids_json(jobs: &[CallJob]) -> String {
    serde_json::to_string(&jobs.iter().map(|job| job.id).collect::<Vec<_>>()).unwrap_or_else(|_| "[]".to_owned())
}

/// Moves the jobs still in `from` to `to`; returns the incidents of the jobs it moved.
async fn move_calls(
    db: &SqlitePool,
    jobs: &[CallJob],
    from: &str,
    to: &str,
    sid: Option<&str>,
    error: Option<&str>,
) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(
        "UPDATE jobs SET state = ?, call_sid = COALESCE(?, call_sid), last_error = COALESCE(?, last_error)
         WHERE id IN (SELECT value FROM json_each(?)) AND state = ?
         RETURNING incident_id",
    )
    .bind(to)
    .bind(sid)
    .bind(error)
    .bind(ids_json(jobs))
    .bind(from)
    .fetch_all(db)
    .await
}

/// The claimed jobs whose incidents still wait for someone: an acknowledgement since the
/// claim has cancelled the others, and the call speaks only of these.
async fn still_open(db: &SqlitePool, jobs: &[CallJob]) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(
        "SELECT jobs.id FROM jobs JOIN incidents ON incidents.id = jobs.incident_id
         WHERE jobs.id IN (SELECT value FROM json_each(?)) AND jobs.state = 'placing'
           AND incidents.acknowledged_at IS NULL AND incidents.resolved_at IS NULL",
    )
    .bind(ids_json(jobs))
    .fetch_all(db)
    .await
}

/// Places one call to a person for every incident waiting on them, then follows it. The
/// permit (a place among the calls being placed) is given back as soon as the call is placed.
async fn place(
    floor: &Floor,
    person_id: i64,
    jobs: Vec<CallJob>,
    plan: CallPlan,
    permit: tokio::sync::OwnedSemaphorePermit,
    shutdown: &CancellationToken,
) {
    if let Err(error) = try_place(floor, person_id, jobs.clone(), plan, permit, shutdown).await {
        tracing::error!(person = person_id, error = format!("{error:#}"), "call handling failed");
        let _ = move_calls(&floor.db, &jobs, "placing", "failed", None, Some("internal error")).await;
    }
    floor.scheduler.wake();
}

async fn try_place(
    floor: &Floor,
    person_id: i64,
    jobs: Vec<CallJob>,
    plan: CallPlan,
    permit: tokio::sync::OwnedSemaphorePermit,
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    let Some(phone) = floor.phone.clone() else {
        tracing::warn!(person = person_id, "no phone provider configured; skipping a call step");
        let incidents = move_calls(&floor.db, &jobs, "placing", "failed", None, Some("no phone provider")).await?;
        record_for(floor, &incidents, EventKind::CallNoProvider, person_id, None).await;
        return Ok(());
    };
    let Some(number) = plan.number.clone() else {
        let incidents = move_calls(&floor.db, &jobs, "placing", "failed", None, Some("no phone number")).await?;
        record_for(floor, &incidents, EventKind::CallNoNumber, person_id, None).await;
        return Ok(());
    };
    // Say what is true now: incidents acknowledged since the claim are left out, and a call
    // about nothing is not placed.
    let open = still_open(&floor.db, &jobs).await?;
    let jobs: Vec<CallJob> = jobs.into_iter().filter(|job| open.contains(&job.id)).collect();
    if jobs.is_empty() {
        return Ok(());
    }
    let speaks_of: Vec<&PlannedIncident> =
        plan.incidents.iter().filter(|planned| jobs.iter().any(|job| job.incident_id == Some(planned.id))).collect();
    let lang = plan.lang.unwrap_or(floor.config.language);
    let request = CallRequest {
        to: number.as_str().to_owned(),
        text: call_text(floor, lang, &speaks_of),
        lang,
        incidents: speaks_of.iter().map(|incident| incident.id).collect(),
    };

    // An earlier attempt may have reached the provider: look before calling again.
    let mut repeated = jobs.iter().any(|job| job.repeated);
    if let Some(since) = jobs.iter().filter(|job| job.outcome_unknown).filter_map(|job| job.attempted_at).min() {
        match phone.find_since(&request.to, since - LOOKUP_SKEW).await {
            Ok(Some(found)) => {
                drop(permit);
                tracing::info!(person = person_id, "an earlier attempt had placed the call; following it");
                let incidents = move_calls(&floor.db, &jobs, "placing", "ringing", Some(&found.sid), None).await?;
                record_for(floor, &incidents, EventKind::CallPlaced, person_id, None).await;
                follow(floor, person_id, &found.sid, shutdown).await;
                return Ok(());
            }
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(person = person_id, %error, "could not look for an earlier call; placing it again");
                repeated = true;
            }
        }
    }

    let placed = phone.place(&request).await;
    drop(permit);
    match placed {
        Ok(placed) => {
            let detail = repeated.then_some("possibly-repeated");
            match placed.sid {
                Some(sid) => {
                    let ringing = move_calls(&floor.db, &jobs, "placing", "ringing", Some(&sid), None).await?;
                    record_for(floor, &ringing, EventKind::CallPlaced, person_id, detail).await;
                    if ringing.is_empty() {
                        // Acknowledged while the call was being placed: hang up at once.
                        hang_up(floor, person_id, &sid, &incidents_of(&jobs)).await;
                    } else if ringing.len() < jobs.len() {
                        redirect(floor, person_id, &sid, lang).await;
                    }
                    floor.scheduler.wake();
                    follow(floor, person_id, &sid, shutdown).await;
                }
                None => {
                    let incidents = move_calls(&floor.db, &jobs, "placing", "done", None, None).await?;
                    record_for(floor, &incidents, EventKind::CallPlaced, person_id, detail).await;
                }
            }
        }
        Err(PhoneError::Unavailable(reason)) => {
            // The provider is down or did not answer: the call stays due, backing off (15 s,
            // 30 s, … 5 min), until it gets through or the incident is acknowledged. The
            // request may have arrived all the same, so the next attempt looks first.
            let failures = jobs.iter().map(|job| job.provider_failures).max().unwrap_or(0) + 1;
            let delay = chrono::Duration::seconds((15_i64 << (failures - 1).min(5)).min(300));
            let due = floor.clock.now() + delay;
            let detail = tp!(
                floor.i18n,
                floor.config.language,
                "call-retry-at",
                time = incident::clock_time(due, floor.config.timezone)
            );
            let incidents: Vec<i64> = sqlx::query_scalar(
                "UPDATE jobs SET state = 'pending', due_at = ?, last_error = ?, payload = ?, outcome_unknown = 1
                 WHERE id IN (SELECT value FROM json_each(?)) AND state = 'placing'
                 RETURNING incident_id",
            )
            .bind(due)
            .bind(&reason)
            .bind(failures.to_string())
            .bind(ids_json(&jobs))
            .fetch_all(&floor.db)
            .await?;
            record_for(floor, &incidents, EventKind::CallError, person_id, Some(&detail)).await;
        }
        Err(PhoneError::Refused(reason)) => {
            let incidents = move_calls(&floor.db, &jobs, "placing", "failed", None, Some(&reason)).await?;
            record_for(floor, &incidents, EventKind::CallError, person_id, Some(&reason)).await;
        }
    }
    Ok(())
}

/// At start: calls that were ringing when the bot stopped are followed again.
pub(super) async fn follow_ringing(floor: &Arc<Floor>, shutdown: &CancellationToken) -> anyhow::Result<()> {
    let ringing: Vec<(String, i64)> = sqlx::query_as(
        "SELECT call_sid, person_id FROM jobs WHERE kind = 'call' AND state = 'ringing' AND call_sid IS NOT NULL
         GROUP BY call_sid",
    )
    .fetch_all(&floor.db)
    .await?;
    for (sid, person_id) in ringing {
        let floor = Arc::clone(floor);
        let shutdown = shutdown.clone();
        tokio::spawn(async move { follow(&floor, person_id, &sid, &shutdown).await });
    }
    Ok(())
}

/// Reads the call's status every two seconds until it ends; a failed call is retried per the
/// chain's policy for each incident still waiting.
async fn follow(floor: &Floor, person_id: i64, sid: &str, shutdown: &CancellationToken) {
    let Some(phone) = floor.phone.clone() else { return };
    let mut unavailable = 0_u32;
    loop {
        let wake = floor.clock.now() + CALL_POLL_INTERVAL;
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = floor.clock.sleep_until(wake) => {}
        }
        let outcome = match phone.status(sid).await {
            Ok(status) if status.was_answered() => Some(("done", EventKind::CallAnswered, None)),
            Ok(status) if status.is_failure() => {
                Some(("failed", EventKind::CallFailed, Some(status.as_str().to_owned())))
            }
            Ok(_) => None,
            Err(PhoneError::Unavailable(_)) if unavailable < 150 => {
                unavailable += 1;
                None
            }
            Err(error) => Some(("failed", EventKind::CallError, Some(error.to_string()))),
        };
        let Some((state, event, detail)) = outcome else { continue };
        let ended: Vec<(i64, Option<i64>, i64)> = match sqlx::query_as(
            "UPDATE jobs SET state = ?, last_error = COALESCE(?, last_error)
             WHERE call_sid = ? AND state = 'ringing' RETURNING id, incident_id, attempts",
        )
        .bind(state)
        .bind(detail.as_deref())
        .bind(sid)
        .fetch_all(&floor.db)
        .await
        {
            Ok(ended) => ended,
            Err(error) => {
                tracing::error!(%error, "could not record a call's outcome");
                Vec::new()
            }
        };
        let incidents: Vec<i64> = ended.iter().filter_map(|(_, incident, _)| *incident).collect();
        record_for(floor, &incidents, event, person_id, detail.as_deref()).await;
        if event == EventKind::CallFailed
            && let Err(error) = schedule_retries(floor, person_id, &ended).await
        {
            tracing::error!(%error, "could not schedule a call retry");
        }
        break;
    }
    floor.scheduler.wake();
}

async fn schedule_retries(floor: &Floor, person_id: i64, ended: &[(i64, Option<i64>, i64)]) -> anyhow::Result<()> {
    let now = floor.clock.now();
    for (_, incident_id, attempts) in ended {
        let Some(incident_id) = *incident_id else { continue };
        let Some(incident) = incident::get(&floor.db, incident_id).await? else { continue };
        let chain = floor.config.chain_for(&team::team_name(&floor.db, incident.team_id).await?).clone();
        if *attempts >= i64::from(chain.call_retry.times) {
            continue;
        }
        let due = now + chrono::Duration::from_std(chain.call_retry.after).unwrap_or(chrono::Duration::MAX);
        let mut transaction = crate::db::begin(&floor.db).await?;
        // Only while nobody has acknowledged: checked in the same transaction that adds it.
        let inserted = sqlx::query(
            "INSERT INTO jobs (kind, incident_id, person_id, due_at, attempts, created_at, updated_at)
             SELECT 'call', id, ?, ?, ?, ?, ? FROM incidents WHERE id = ? AND acknowledged_at IS NULL AND resolved_at IS NULL",
        )
        .bind(person_id)
        .bind(due)
        .bind(attempts + 1)
        .bind(now)
        .bind(now)
        .bind(incident_id)
        .execute(&mut *transaction)
        .await?
        .rows_affected();
        if inserted > 0 {
            let detail = incident::clock_time(due, floor.config.timezone);
            incident::record(
                &mut transaction,
                incident_id,
                now,
                EventKind::CallRetry,
                None,
                Some(person_id),
                Some(&detail),
            )
            .await?;
            enqueue_refresh(&mut transaction, incident_id, now, false).await?;
        }
        transaction.commit().await?;
    }
    Ok(())
}

/// Hangs up a call whose incidents were all acknowledged, and says so in their timelines.
async fn hang_up(floor: &Floor, person_id: i64, sid: &str, incidents: &[i64]) {
    let Some(phone) = floor.phone.clone() else { return };
    let answered = match phone.status(sid).await {
        Ok(status) if status.is_final() => return,
        Ok(status) => status == CallStatus::InProgress,
        Err(_) => false,
    };
    match phone.hang_up(sid, answered).await {
        Ok(()) => record_for(floor, incidents, EventKind::CallCancelled, person_id, None).await,
        Err(error) => tracing::warn!(person = person_id, %error, "could not hang up a call no longer needed"),
    }
}

/// Makes a merged call speak only of the incidents still waiting.
async fn redirect(floor: &Floor, person_id: i64, sid: &str, lang: Lang) {
    let Some(phone) = floor.phone.clone() else { return };
    let planned: Vec<PlannedIncident> = match sqlx::query_as(
        "SELECT incidents.id AS id, incidents.anomaly_kind AS kind, stores.platform AS platform, stores.name AS store
         FROM jobs JOIN incidents ON incidents.id = jobs.incident_id LEFT JOIN stores ON stores.id = incidents.store_id
         WHERE jobs.call_sid = ? AND jobs.state = 'ringing' ORDER BY incidents.id",
    )
    .bind(sid)
    .fetch_all(&floor.db)
    .await
    {
        Ok(planned) => planned,
        Err(error) => {
            tracing::error!(%error, "could not read what a call still speaks of");
            return;
        }
    };
    if planned.is_empty() {
        return;
    }
    let text = call_text(floor, lang, &planned.iter().collect::<Vec<_>>());
    if let Err(error) = phone.redirect(sid, &text, lang).await {
        tracing::warn!(person = person_id, %error, "could not change what a call says");
    }
}

/// The `call_cancel` job: every incident of a call was acknowledged.
pub(super) async fn cancel(floor: &Floor, job: &Job) -> anyhow::Result<()> {
    let (Some(sid), Some(person_id)) = (job.payload.as_deref(), job.person_id) else { return Ok(()) };
    let still_needed: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE call_sid = ? AND state IN ('placing', 'ringing')")
            .bind(sid)
            .fetch_one(&floor.db)
            .await?;
    if still_needed == 0 {
        hang_up(floor, person_id, sid, &job.incident_id.into_iter().collect::<Vec<_>>()).await;
    }
    Ok(())
}

/// The `call_update` job: some incidents of a merged call were acknowledged.
pub(super) async fn update(floor: &Floor, job: &Job) -> anyhow::Result<()> {
    let (Some(sid), Some(person_id)) = (job.payload.as_deref(), job.person_id) else { return Ok(()) };
    let lang = match team::chat_language(&floor.db, person_id).await? {
        Some(lang) => lang,
        None => floor.config.language,
    };
    let still_needed: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE call_sid = ? AND state IN ('placing', 'ringing')")
            .bind(sid)
            .fetch_one(&floor.db)
            .await?;
    if still_needed == 0 {
        hang_up(floor, person_id, sid, &job.incident_id.into_iter().collect::<Vec<_>>()).await;
    } else {
        redirect(floor, person_id, sid, lang).await;
    }
    Ok(())
}
