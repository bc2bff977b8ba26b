//! The one durable job runner. Everything with a deadline — escalation steps, calls and their
//! retries, private messages, group mentions, relays, message refreshes, form expiry — is a
//! row in `jobs`, written in the same transaction as the event that caused it.
//!
//! The runner sleeps (on the injected [`Clock`]) until the earliest due row or until woken,
//! claims due rows by moving them out of `pending` in one statement, and performs them. An
//! acknowledgement cancels pending escalation rows in its own transaction, so whichever of the
//! two commits first decides. At start, rows a crash left `running` or `placing` are
//! re-examined and run again, marked as possibly repeated; rows left `ringing` resume
//! following their call.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::{FromRow, Sqlite, SqlitePool, Transaction};
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::escalation::{self, Action, Chain};
use crate::i18n::Lang;
use crate::incident::{self, EventKind};
use crate::phone::{CallRequest, PhoneError};
use crate::telegram::Floor;
use crate::telegram::outbox::{SendError, SendOptions};
use crate::{contact, store, t, team, tp};

/// What a job does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobKind {
    /// Post the team-group message and the relay to operations.
    Relay,
    /// One step of the escalation chain (`step_index`).
    Step,
    /// A private message to `person_id`.
    Private,
    /// A mention in the team group of the people in `payload`.
    Mention,
    /// A phone call to `person_id`.
    Call,
    /// Re-render the incident's two live messages.
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

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Relay => "relay",
            JobKind::Step => "step",
            JobKind::Private => "private",
            JobKind::Mention => "mention",
            JobKind::Call => "call",
            JobKind::Refresh => "refresh",
            JobKind::NotifyReporter => "notify_reporter",
            JobKind::FormExpiry => "form_expiry",
            JobKind::PatrolStart => "patrol_start",
            JobKind::PatrolReminder => "patrol_reminder",
            JobKind::PatrolDeadline => "patrol_deadline",
            JobKind::PatrolRefresh => "patrol_refresh",
        }
    }

    fn parse(text: &str) -> Option<JobKind> {
        Some(match text {
            "relay" => JobKind::Relay,
            "step" => JobKind::Step,
            "private" => JobKind::Private,
            "mention" => JobKind::Mention,
            "call" => JobKind::Call,
            "refresh" => JobKind::Refresh,
            "notify_reporter" => JobKind::NotifyReporter,
            "form_expiry" => JobKind::FormExpiry,
            "patrol_start" => JobKind::PatrolStart,
            "patrol_reminder" => JobKind::PatrolReminder,
            "patrol_deadline" => JobKind::PatrolDeadline,
            "patrol_refresh" => JobKind::PatrolRefresh,
            _ => return None,
        })
    }
}

/// A step that fires this much after its due time (a restart, a busy machine) is marked late.
const LATE_AFTER_SECONDS: i64 = 2;
/// How often a ringing call's status is read.
const CALL_POLL_INTERVAL: chrono::Duration = chrono::Duration::seconds(2);
/// Jobs performed at once; calls to different people go out in parallel.
const PARALLEL_JOBS: usize = 128;

/// Wakes the runner when a new row may be due sooner than it planned.
#[derive(Clone, Default)]
pub struct SchedulerHandle {
    notify: Arc<Notify>,
}

impl SchedulerHandle {
    pub fn wake(&self) {
        self.notify.notify_one();
    }
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
    sqlx::query_scalar(
        "INSERT INTO jobs (kind, incident_id, person_id, payload, due_at, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(kind.as_str())
    .bind(incident_id)
    .bind(person_id)
    .bind(payload)
    .bind(due_at)
    .bind(due_at)
    .bind(due_at)
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
        sqlx::query(
            "INSERT INTO jobs (kind, incident_id, step_index, due_at, created_at, updated_at) VALUES ('step', ?, ?, ?, ?, ?)",
        )
        .bind(incident_id)
        .bind(i64::try_from(index).unwrap_or(i64::MAX))
        .bind(due)
        .bind(reported_at)
        .bind(reported_at)
        .execute(&mut **transaction)
        .await?;
    }
    Ok(())
}

/// Asks for the incident's messages to be re-rendered. Several changes in a row share one
/// pending refresh, so the latest state wins and edits are coalesced.
pub async fn enqueue_refresh(
    transaction: &mut Transaction<'_, Sqlite>,
    incident_id: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO jobs (kind, incident_id, due_at, created_at, updated_at)
         SELECT 'refresh', ?1, ?2, ?2, ?2
         WHERE NOT EXISTS (SELECT 1 FROM jobs WHERE kind = 'refresh' AND incident_id = ?1 AND state = 'pending')",
    )
    .bind(incident_id)
    .bind(now)
    .execute(&mut **transaction)
    .await?;
    Ok(())
}

/// Cancels every pending escalation job of an incident (steps, calls, messages, mentions).
pub async fn cancel_escalation(
    transaction: &mut Transaction<'_, Sqlite>,
    incident_id: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<u64> {
    let result = sqlx::query(
        "UPDATE jobs SET state = 'cancelled', updated_at = ?
         WHERE incident_id = ? AND state = 'pending' AND kind IN ('step', 'call', 'private', 'mention')",
    )
    .bind(now)
    .bind(incident_id)
    .execute(&mut **transaction)
    .await?;
    Ok(result.rows_affected())
}

/// The next escalation step still waiting: (step index, due time).
pub async fn next_pending_step(db: &SqlitePool, incident_id: i64) -> sqlx::Result<Option<(i64, DateTime<Utc>)>> {
    sqlx::query_as(
        "SELECT step_index, due_at FROM jobs WHERE incident_id = ? AND kind = 'step' AND state = 'pending'
         ORDER BY due_at, step_index LIMIT 1",
    )
    .bind(incident_id)
    .fetch_optional(db)
    .await
}

#[derive(Clone, Debug, FromRow)]
struct Job {
    id: i64,
    kind: String,
    incident_id: Option<i64>,
    step_index: Option<i64>,
    person_id: Option<i64>,
    payload: Option<String>,
    due_at: DateTime<Utc>,
    attempts: i64,
}

/// A call job claimed for placing.
#[derive(Clone, Debug, FromRow)]
struct CallJob {
    id: i64,
    incident_id: Option<i64>,
    /// Calls already made for this incident and person (retries after a failed call).
    attempts: i64,
    repeated: bool,
    /// Times the provider was unreachable for this call, for the backoff.
    provider_failures: i64,
}

/// Runs until `shutdown`; then waits briefly for the jobs in flight.
pub async fn run(floor: Arc<Floor>, shutdown: CancellationToken) {
    if let Err(error) = recover(&floor, &shutdown).await {
        tracing::error!(error = format!("{error:#}"), "could not re-examine jobs left by the last run");
    }
    if let Err(error) = crate::patrol::plan_all(&floor).await {
        tracing::error!(error = format!("{error:#}"), "could not plan the patrols");
    }
    let limit = Arc::new(Semaphore::new(PARALLEL_JOBS));
    let mut tasks = JoinSet::new();
    loop {
        while tasks.try_join_next().is_some() {}
        let now = floor.clock.now();
        // Calls first: they are the most urgent, and placing one is quick (following it is not
        // limited, so a ringing phone never holds up other work).
        match claim_calls(&floor.db, now).await {
            Ok(groups) => {
                let mut plans = if groups.is_empty() {
                    HashMap::new()
                } else {
                    plan_calls(&floor.db, &groups).await.unwrap_or_else(|error| {
                        tracing::error!(%error, "could not read what the calls should say");
                        HashMap::new()
                    })
                };
                for (person_id, jobs) in groups {
                    let plan = plans.remove(&person_id).unwrap_or_default();
                    let floor = Arc::clone(&floor);
                    let shutdown_for_task = shutdown.clone();
                    let permit = tokio::select! {
                        permit = Arc::clone(&limit).acquire_owned() => permit,
                        _ = shutdown.cancelled() => break,
                    };
                    let Ok(permit) = permit else { break };
                    tasks.spawn(async move {
                        place_call(&floor, person_id, jobs, plan, permit, &shutdown_for_task).await;
                    });
                }
            }
            Err(error) => tracing::error!(%error, "could not read due calls"),
        }
        match claim_due(&floor.db, now).await {
            Ok(jobs) => {
                for job in jobs {
                    let floor = Arc::clone(&floor);
                    let permit = tokio::select! {
                        permit = Arc::clone(&limit).acquire_owned() => permit,
                        _ = shutdown.cancelled() => break,
                    };
                    let Ok(permit) = permit else { break };
                    tasks.spawn(async move {
                        perform(&floor, job).await;
                        drop(permit);
                    });
                }
            }
            Err(error) => tracing::error!(%error, "could not read due jobs"),
        }
        if shutdown.is_cancelled() {
            break;
        }
        let next = next_due(&floor.db).await.unwrap_or_else(|error| {
            tracing::error!(%error, "could not read the next due job");
            Some(now + chrono::Duration::seconds(5))
        });
        // Nothing pending: wait to be woken (an hour at most, as a safety net).
        let wake_at = next.unwrap_or(now + chrono::Duration::hours(1));
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = floor.scheduler.notify.notified() => {}
            _ = floor.clock.sleep_until(wake_at) => {}
        }
    }
    // Jobs in flight finish (their rows say what happened); a stuck one is left for recovery.
    let _ = tokio::time::timeout(Duration::from_secs(5), async { while tasks.join_next().await.is_some() {} }).await;
    tasks.abort_all();
}

async fn next_due(db: &SqlitePool) -> sqlx::Result<Option<DateTime<Utc>>> {
    sqlx::query_scalar("SELECT MIN(due_at) FROM jobs WHERE state = 'pending'").fetch_one(db).await
}

/// Claims every due job except calls: one statement moves them to `running`, so no job is
/// claimed twice.
async fn claim_due(db: &SqlitePool, now: DateTime<Utc>) -> sqlx::Result<Vec<Job>> {
    sqlx::query_as(
        "UPDATE jobs SET state = 'running', updated_at = ?1
         WHERE id IN (SELECT id FROM jobs WHERE state = 'pending' AND kind <> 'call' AND due_at <= ?1 ORDER BY due_at, id LIMIT 500)
         RETURNING id, kind, incident_id, step_index, person_id, payload, due_at, attempts",
    )
    .bind(now)
    .fetch_all(db)
    .await
}

/// Claims due calls in one statement, grouped per person: all of a person's due calls merge
/// into one, and a person already being called waits until that call ends. (The `IN`
/// subqueries are evaluated once, before any row changes.)
async fn claim_calls(db: &SqlitePool, now: DateTime<Utc>) -> sqlx::Result<Vec<(i64, Vec<CallJob>)>> {
    let claimed: Vec<(i64, CallJob)> = sqlx::query_as::<_, ClaimedCall>(
        "UPDATE jobs SET state = 'placing', updated_at = ?1
         WHERE kind = 'call' AND state = 'pending' AND due_at <= ?1 AND person_id IS NOT NULL
           AND person_id NOT IN (SELECT person_id FROM jobs WHERE kind = 'call' AND state IN ('placing', 'ringing')
                                   AND person_id IS NOT NULL)
         RETURNING person_id, id, incident_id, attempts, repeated,
                   CAST(COALESCE(payload, '0') AS INTEGER) AS provider_failures",
    )
    .bind(now)
    .fetch_all(db)
    .await?
    .into_iter()
    .map(|row| {
        (
            row.person_id,
            CallJob {
                id: row.id,
                incident_id: row.incident_id,
                attempts: row.attempts,
                repeated: row.repeated,
                provider_failures: row.provider_failures,
            },
        )
    })
    .collect();
    let mut groups: Vec<(i64, Vec<CallJob>)> = Vec::new();
    for (person_id, job) in claimed {
        match groups.iter_mut().find(|(person, _)| *person == person_id) {
            Some((_, jobs)) => jobs.push(job),
            None => groups.push((person_id, vec![job])),
        }
    }
    Ok(groups)
}

#[derive(FromRow)]
struct ClaimedCall {
    person_id: i64,
    id: i64,
    incident_id: Option<i64>,
    attempts: i64,
    repeated: bool,
    provider_failures: i64,
}

/// After a crash: half-done work is made due again (marked possibly repeated); calls that were
/// ringing are followed again.
async fn recover(floor: &Arc<Floor>, shutdown: &CancellationToken) -> anyhow::Result<()> {
    let now = floor.clock.now();
    let rerun = sqlx::query(
        "UPDATE jobs SET state = 'pending', repeated = 1, updated_at = ?
         WHERE state = 'running' OR (state = 'placing' AND call_sid IS NULL)",
    )
    .bind(now)
    .execute(&floor.db)
    .await?;
    if rerun.rows_affected() > 0 {
        tracing::warn!(jobs = rerun.rows_affected(), "jobs interrupted by the last stop will run again");
    }
    let ringing: Vec<(String, i64)> = sqlx::query_as(
        "SELECT call_sid, person_id FROM jobs WHERE kind = 'call' AND state IN ('ringing', 'placing') AND call_sid IS NOT NULL
         GROUP BY call_sid",
    )
    .fetch_all(&floor.db)
    .await?;
    for (sid, person_id) in ringing {
        let jobs: Vec<CallJob> = sqlx::query_as(
            "SELECT id, incident_id, attempts, repeated, CAST(COALESCE(payload, '0') AS INTEGER) AS provider_failures
                 FROM jobs WHERE call_sid = ? AND kind = 'call'",
        )
        .bind(&sid)
        .fetch_all(&floor.db)
        .await?;
        let floor = Arc::clone(floor);
        let shutdown = shutdown.clone();
        tokio::spawn(async move { follow_call(&floor, person_id, &sid, &jobs, &shutdown).await });
    }
    Ok(())
}

async fn perform(floor: &Floor, job: Job) {
    let Some(kind) = JobKind::parse(&job.kind) else {
        tracing::error!(job = job.id, kind = job.kind, "unknown job kind");
        set_state(&floor.db, job.id, "failed", Some("unknown kind")).await;
        return;
    };
    let result = match kind {
        JobKind::Relay => relay(floor, &job).await,
        JobKind::Step => step(floor, &job).await,
        JobKind::Private => private_message(floor, &job).await,
        JobKind::Mention => mention(floor, &job).await,
        JobKind::Refresh => match job.incident_id {
            Some(id) => incident::refresh_messages(floor, id).await,
            None => Ok(()),
        },
        JobKind::NotifyReporter => notify_reporter(floor, &job).await,
        JobKind::FormExpiry => {
            crate::anomaly::expire_form(floor, job.payload.as_deref().unwrap_or_default(), floor.clock.now()).await
        }
        JobKind::PatrolStart => match job.person_id {
            Some(team_id) => crate::patrol::start_job(floor, team_id, job.payload.as_deref().unwrap_or_default()).await,
            None => Ok(()),
        },
        JobKind::PatrolReminder => match patrol_of(&job) {
            Some(patrol_id) => crate::patrol::remind(floor, patrol_id).await,
            None => Ok(()),
        },
        JobKind::PatrolDeadline => match patrol_of(&job) {
            Some(patrol_id) => crate::patrol::deadline(floor, patrol_id).await,
            None => Ok(()),
        },
        JobKind::PatrolRefresh => match patrol_of(&job) {
            Some(patrol_id) => crate::patrol::refresh(floor, patrol_id).await,
            None => Ok(()),
        },
        JobKind::Call => Ok(()),
    };
    match result {
        // Steps also mark themselves done inside their own transaction; this is idempotent.
        Ok(()) => set_state(&floor.db, job.id, "done", None).await,
        Err(error) => retry_later(floor, &job, &format!("{error:#}")).await,
    }
    // What the job did may have added rows (a refresh, a sub-job) due now.
    floor.scheduler.wake();
}

fn patrol_of(job: &Job) -> Option<i64> {
    job.payload.as_deref().and_then(|payload| payload.parse().ok())
}

async fn set_state(db: &SqlitePool, job_id: i64, state: &str, error: Option<&str>) {
    let result = sqlx::query("UPDATE jobs SET state = ?, last_error = COALESCE(?, last_error) WHERE id = ?")
        .bind(state)
        .bind(error)
        .bind(job_id)
        .execute(db)
        .await;
    if let Err(error) = result {
        tracing::error!(job = job_id, %error, "could not record a job's outcome");
    }
}

/// Telegram or the database failed: try again later, backing off, never dropping the job.
async fn retry_later(floor: &Floor, job: &Job, error: &str) {
    let attempts = job.attempts + 1;
    let delay = chrono::Duration::seconds((5_i64 << attempts.min(6)).min(300));
    tracing::warn!(job = job.id, kind = job.kind, attempts, error, "job failed; will retry");
    let due = floor.clock.now() + delay;
    let result =
        sqlx::query("UPDATE jobs SET state = 'pending', attempts = ?, due_at = ?, last_error = ? WHERE id = ?")
            .bind(attempts)
            .bind(due)
            .bind(error)
            .bind(job.id)
            .execute(&floor.db)
            .await;
    if let Err(error) = result {
        tracing::error!(job = job.id, %error, "could not reschedule a failed job");
    }
}

fn message_id(id: Option<i64>) -> Option<i32> {
    id.and_then(|id| i32::try_from(id).ok())
}

/// Posts the team-group message (guidance + live status) and the relay to operations.
async fn relay(floor: &Floor, job: &Job) -> anyhow::Result<()> {
    let Some(incident_id) = job.incident_id else { return Ok(()) };
    let Some(incident) = incident::get(&floor.db, incident_id).await? else { return Ok(()) };
    // Findings on patrol already show in the checklist; only store anomalies get their own
    // team-group message.
    if incident.is_store_anomaly()
        && incident.team_message_id.is_none()
        && let Some(chat_id) = incident.report_chat_id
    {
        let lang = floor.chat_language(chat_id).await;
        let text = incident::render_team_message(floor, lang, &incident).await?;
        let options = SendOptions {
            reply_to: message_id(incident.report_message_id),
            keyboard: incident::keyboard(&floor.i18n, lang, &incident),
            force_reply: false,
        };
        let sent = floor.outbox.send(chat_id, &text, options).await?;
        if let Some(last) = sent.last() {
            sqlx::query("UPDATE incidents SET team_chat_id = ?, team_message_id = ? WHERE id = ?")
                .bind(last.chat_id)
                .bind(last.message_id)
                .bind(incident_id)
                .execute(&floor.db)
                .await?;
        }
    }
    if incident.ops_message_id.is_none() {
        match incident::ops_group(&floor.db).await? {
            Some(ops_chat) => {
                let incident = incident::get(&floor.db, incident_id).await?.unwrap_or(incident);
                let lang = floor.chat_language(ops_chat).await;
                let text = incident::render_relay(floor, lang, &incident).await?;
                let options = SendOptions {
                    keyboard: incident::keyboard(&floor.i18n, lang, &incident),
                    ..SendOptions::default()
                };
                let sent = floor.outbox.send(ops_chat, &text, options).await?;
                if let Some(last) = sent.last() {
                    let mut transaction = floor.db.begin().await?;
                    sqlx::query("UPDATE incidents SET ops_chat_id = ?, ops_message_id = ? WHERE id = ?")
                        .bind(last.chat_id)
                        .bind(last.message_id)
                        .bind(incident_id)
                        .execute(&mut *transaction)
                        .await?;
                    incident::record(
                        &mut transaction,
                        incident_id,
                        floor.clock.now(),
                        EventKind::Relayed,
                        None,
                        None,
                        None,
                    )
                    .await?;
                    transaction.commit().await?;
                }
            }
            None => {
                incident::record_now(&floor.db, incident_id, floor.clock.now(), EventKind::RelayFailed, None, None)
                    .await?;
            }
        }
    }
    Ok(())
}

/// People holding a role right now (configured supervisors count as supervisors).
async fn holders(floor: &Floor, role: team::Role) -> sqlx::Result<Vec<i64>> {
    if role == team::Role::Supervisor {
        return team::supervisors_in_order(&floor.db, &floor.config).await;
    }
    sqlx::query_scalar("SELECT user_id FROM roles WHERE role = ? ORDER BY id")
        .bind(role.as_str())
        .fetch_all(&floor.db)
        .await
}

/// One escalation step: resolve its target, then create the calls, messages and mentions it
/// asks for — skipping any (person, action) an earlier step already did.
async fn step(floor: &Floor, job: &Job) -> anyhow::Result<()> {
    let now = floor.clock.now();
    let Some(incident_id) = job.incident_id else { return Ok(()) };
    let Some(incident) = incident::get(&floor.db, incident_id).await? else { return Ok(()) };
    let chain = floor.config.chain_for(&team::team_name(&floor.db, incident.team_id).await?).clone();
    let index = usize::try_from(job.step_index.unwrap_or(-1)).ok();
    let Some(step) = index.and_then(|index| chain.steps.get(index)).cloned() else {
        set_state(&floor.db, job.id, "done", Some("the chain no longer has this step")).await;
        return Ok(());
    };
    let on_duty = team::on_duty(&floor.db, &floor.config).await?;
    let supervisors = team::supervisors_in_order(&floor.db, &floor.config).await?;
    let role_holders = match &step.target {
        escalation::Target::Role(role) => holders(floor, *role).await?,
        _ => Vec::new(),
    };
    let people = escalation::resolve(
        &step.target,
        &escalation::Floor { on_duty, supervisors: &supervisors, role_holders: &role_holders },
    );
    let step_number = index.map(|index| index + 1).unwrap_or_default();

    let mut transaction = floor.db.begin().await?;
    // The write comes first, so this transaction holds the write lock before it looks at the
    // acknowledgement: an acknowledgement either committed before (and we stop) or waits.
    sqlx::query("UPDATE jobs SET state = 'done', updated_at = ? WHERE id = ?")
        .bind(now)
        .bind(job.id)
        .execute(&mut *transaction)
        .await?;
    let still_waiting: Option<i64> =
        sqlx::query_scalar("SELECT id FROM incidents WHERE id = ? AND acknowledged_at IS NULL AND resolved_at IS NULL")
            .bind(incident_id)
            .fetch_optional(&mut *transaction)
            .await?;
    if still_waiting.is_none() {
        transaction.commit().await?;
        return Ok(());
    }
    let lateness = (now - job.due_at).num_seconds();
    if lateness > LATE_AFTER_SECONDS {
        let late = incident::duration_text(&floor.i18n, floor.config.language, job.due_at, now);
        let detail = format!("{step_number}: {late}");
        incident::record(&mut transaction, incident_id, now, EventKind::StepLate, None, None, Some(&detail)).await?;
    }
    incident::record(&mut transaction, incident_id, now, EventKind::Step, None, None, Some(&step_number.to_string()))
        .await?;
    if people.is_empty() {
        let detail = format!("{step_number}: {}", step.target);
        incident::record(&mut transaction, incident_id, now, EventKind::StepNobody, None, None, Some(&detail)).await?;
    }
    let mut to_mention = Vec::new();
    for action in &step.actions {
        for person in &people {
            let fresh =
                sqlx::query("INSERT OR IGNORE INTO escalation_done (incident_id, person_id, action) VALUES (?, ?, ?)")
                    .bind(incident_id)
                    .bind(person)
                    .bind(action.as_str())
                    .execute(&mut *transaction)
                    .await?
                    .rows_affected()
                    > 0;
            if !fresh {
                continue;
            }
            match action {
                Action::Call => {
                    enqueue(&mut transaction, JobKind::Call, Some(incident_id), Some(*person), None, now).await?;
                }
                Action::Private => {
                    enqueue(&mut transaction, JobKind::Private, Some(incident_id), Some(*person), None, now).await?;
                }
                Action::Mention => to_mention.push(person.to_string()),
            }
        }
    }
    if !to_mention.is_empty() {
        let payload = to_mention.join(",");
        enqueue(&mut transaction, JobKind::Mention, Some(incident_id), None, Some(&payload), now).await?;
    }
    enqueue_refresh(&mut transaction, incident_id, now).await?;
    transaction.commit().await?;
    floor.scheduler.wake();
    Ok(())
}

async fn private_message(floor: &Floor, job: &Job) -> anyhow::Result<()> {
    let (Some(incident_id), Some(person_id)) = (job.incident_id, job.person_id) else { return Ok(()) };
    let Some(incident) = incident::get(&floor.db, incident_id).await? else { return Ok(()) };
    let lang = floor.chat_language(person_id).await;
    let now = floor.clock.now();
    let summary: String = incident.description.chars().take(200).collect();
    let text = if !incident.is_store_anomaly() {
        t!(
            floor.i18n,
            lang,
            "patrol-issue-private",
            number = incident.id,
            severity = incident.severity().icon(),
            kind = incident.kind_label(&floor.i18n, lang),
            text = summary
        )
    } else {
        t!(
            floor.i18n,
            lang,
            "escalation-private",
            number = incident.id,
            store = store::label_of(&floor.db, &floor.i18n, lang, incident.store_id).await?,
            kind = incident.kind_label(&floor.i18n, lang),
            minutes = (now - incident.reported_at).num_minutes(),
            text = summary
        )
    };
    match floor.outbox.send(person_id, &text, SendOptions::default()).await {
        Ok(_) => {
            incident::record_now(&floor.db, incident_id, now, EventKind::PrivateSent, Some(person_id), None).await?
        }
        Err(SendError::PersonUnreachable) | Err(SendError::Refused(_)) | Err(SendError::ChatGone) => {
            incident::record_now(&floor.db, incident_id, now, EventKind::PrivateFailed, Some(person_id), None).await?
        }
        Err(error) => return Err(error.into()),
    }
    Ok(())
}

async fn mention(floor: &Floor, job: &Job) -> anyhow::Result<()> {
    let Some(incident_id) = job.incident_id else { return Ok(()) };
    let Some(incident) = incident::get(&floor.db, incident_id).await? else { return Ok(()) };
    let Some(chat_id) = incident.team_chat_id.or(incident.report_chat_id) else { return Ok(()) };
    let mut mentions = Vec::new();
    let mut names = Vec::new();
    for id in job.payload.as_deref().unwrap_or_default().split(',').filter_map(|id| id.parse::<i64>().ok()) {
        match team::person(&floor.db, id).await? {
            Some(person) => {
                mentions.push(person.mention());
                names.push(person.display_name());
            }
            None => {
                mentions.push(crate::telegram::html::mention(id, &id.to_string(), None));
                names.push(id.to_string());
            }
        }
    }
    if mentions.is_empty() {
        return Ok(());
    }
    let lang = floor.chat_language(chat_id).await;
    let now = floor.clock.now();
    let people = crate::i18n::Arg::Html(mentions.join(" "));
    let text = if incident.is_store_anomaly() {
        t!(
            floor.i18n,
            lang,
            "escalation-mention",
            people = people,
            number = incident.id,
            minutes = (now - incident.reported_at).num_minutes()
        )
    } else {
        t!(
            floor.i18n,
            lang,
            "patrol-issue-mention",
            people = people,
            number = incident.id,
            severity = incident.severity().icon(),
            kind = incident.kind_label(&floor.i18n, lang),
            text = incident.description.chars().take(200).collect::<String>()
        )
    };
    let reply_to = message_id(incident.team_message_id).or(message_id(incident.report_message_id));
    floor.outbox.send(chat_id, &text, SendOptions { reply_to, ..SendOptions::default() }).await?;
    incident::record_now(&floor.db, incident_id, now, EventKind::Mentioned, None, Some(&names.join(", "))).await?;
    Ok(())
}

async fn notify_reporter(floor: &Floor, job: &Job) -> anyhow::Result<()> {
    let Some(incident_id) = job.incident_id else { return Ok(()) };
    let Some(incident) = incident::get(&floor.db, incident_id).await? else { return Ok(()) };
    let Some(chat_id) = incident.report_chat_id else { return Ok(()) };
    let Some(reporter) = team::person(&floor.db, incident.reporter_id).await? else { return Ok(()) };
    let lang = floor.chat_language(chat_id).await;
    let text = if job.payload.as_deref() == Some("resolved") {
        let by = match incident.resolved_by {
            Some(id) => team::person(&floor.db, id).await?.map(|person| person.name_html()).unwrap_or_default(),
            None => String::new(),
        };
        t!(
            floor.i18n,
            lang,
            "notify-resolved",
            reporter = crate::i18n::Arg::Html(reporter.mention()),
            number = incident.id,
            person = crate::i18n::Arg::Html(by),
            note = incident.resolution.clone().filter(|note| !note.is_empty()).unwrap_or_else(|| "—".to_owned())
        )
    } else {
        let by = match incident.acknowledged_by {
            Some(id) => team::person(&floor.db, id).await?.map(|person| person.name_html()).unwrap_or_default(),
            None => String::new(),
        };
        t!(
            floor.i18n,
            lang,
            "notify-acknowledged",
            reporter = crate::i18n::Arg::Html(reporter.mention()),
            number = incident.id,
            person = crate::i18n::Arg::Html(by)
        )
    };
    let reply_to = message_id(incident.report_message_id);
    floor.outbox.send(chat_id, &text, SendOptions { reply_to, ..SendOptions::default() }).await?;
    Ok(())
}

/// The words spoken on the call: one anomaly, or several waiting for the same person.
fn call_text(floor: &Floor, lang: Lang, incidents: &[PlannedIncident]) -> String {
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

/// One anomaly as a call mentions it.
#[derive(Clone, Debug)]
struct PlannedIncident {
    id: i64,
    kind: Option<String>,
    platform: Option<String>,
    store: Option<String>,
}

/// Everything needed to place one person's call. It is read in one query for every call
/// claimed together, so that a burst of calls goes out without a database round trip each.
#[derive(Clone, Debug, Default)]
struct CallPlan {
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

async fn plan_calls(db: &SqlitePool, groups: &[(i64, Vec<CallJob>)]) -> sqlx::Result<HashMap<i64, CallPlan>> {
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

async fn record_for_all(floor: &Floor, jobs: &[CallJob], kind: EventKind, person_id: i64, detail: Option<&str>) {
    let now = floor.clock.now();
    for incident_id in jobs.iter().filter_map(|job| job.incident_id) {
        if let Err(error) = incident::record_now(&floor.db, incident_id, now, kind, Some(person_id), detail).await {
            tracing::error!(incident = incident_id, %error, "could not record a call event");
        }
    }
    // Each event queued a refresh of the live messages.
    floor.scheduler.wake();
}

async fn set_calls(
    db: &SqlitePool,
    jobs: &[CallJob],
    state: &str,
    sid: Option<&str>,
    error: Option<&str>,
) -> sqlx::Result<()> {
    let mut transaction = db.begin().await?;
    for job in jobs {
        sqlx::query("UPDATE jobs SET state = ?, call_sid = COALESCE(?, call_sid), last_error = COALESCE(?, last_error) WHERE id = ?")
            .bind(state)
            .bind(sid)
            .bind(error)
            .bind(job.id)
            .execute(&mut *transaction)
            .await?;
    }
    transaction.commit().await
}

/// Places one call to a person for every incident waiting on them, then follows it. The
/// permit (a place among the jobs performed at once) is given back as soon as the call is
/// placed.
async fn place_call(
    floor: &Floor,
    person_id: i64,
    jobs: Vec<CallJob>,
    plan: CallPlan,
    permit: tokio::sync::OwnedSemaphorePermit,
    shutdown: &CancellationToken,
) {
    if let Err(error) = try_place_call(floor, person_id, &jobs, plan, permit, shutdown).await {
        tracing::error!(person = person_id, error = format!("{error:#}"), "call handling failed");
        let _ = set_calls(&floor.db, &jobs, "failed", None, Some("internal error")).await;
    }
    floor.scheduler.wake();
}

async fn try_place_call(
    floor: &Floor,
    person_id: i64,
    jobs: &[CallJob],
    plan: CallPlan,
    permit: tokio::sync::OwnedSemaphorePermit,
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    let Some(phone) = floor.phone.clone() else {
        tracing::warn!(person = person_id, "no phone provider configured; skipping a call step");
        record_for_all(floor, jobs, EventKind::CallNoProvider, person_id, None).await;
        set_calls(&floor.db, jobs, "failed", None, Some("no phone provider")).await?;
        return Ok(());
    };
    let Some(number) = plan.number else {
        record_for_all(floor, jobs, EventKind::CallNoNumber, person_id, None).await;
        set_calls(&floor.db, jobs, "failed", None, Some("no phone number registered")).await?;
        return Ok(());
    };
    let lang = plan.lang.unwrap_or(floor.config.language);
    let request = CallRequest {
        to: number.as_str().to_owned(),
        text: call_text(floor, lang, &plan.incidents),
        lang,
        incidents: plan.incidents.iter().map(|incident| incident.id).collect(),
    };
    let repeated = jobs.iter().any(|job| job.repeated);
    let placed = phone.place(&request).await;
    drop(permit);
    match placed {
        Ok(placed) => {
            let detail = repeated.then_some("possibly-repeated");
            match placed.sid {
                Some(sid) => {
                    set_calls(&floor.db, jobs, "ringing", Some(&sid), None).await?;
                    record_for_all(floor, jobs, EventKind::CallPlaced, person_id, detail).await;
                    floor.scheduler.wake();
                    follow_call(floor, person_id, &sid, jobs, shutdown).await;
                }
                None => {
                    set_calls(&floor.db, jobs, "done", None, None).await?;
                    record_for_all(floor, jobs, EventKind::CallPlaced, person_id, detail).await;
                }
            }
        }
        Err(PhoneError::Unavailable(reason)) => {
            // The provider is down: the call stays due, backing off (15 s, 30 s, … 5 min), until
            // it gets through or the incident is acknowledged. The payload counts the failures.
            let failures = jobs.iter().map(|job| job.provider_failures).max().unwrap_or(0) + 1;
            let delay = chrono::Duration::seconds((15_i64 << (failures - 1).min(5)).min(300));
            let due = floor.clock.now() + delay;
            let detail = tp!(
                floor.i18n,
                floor.config.language,
                "call-retry-at",
                time = incident::clock_time(due, floor.config.timezone)
            );
            record_for_all(floor, jobs, EventKind::CallError, person_id, Some(&detail)).await;
            let mut transaction = floor.db.begin().await?;
            for job in jobs {
                sqlx::query("UPDATE jobs SET state = 'pending', due_at = ?, last_error = ?, payload = ? WHERE id = ?")
                    .bind(due)
                    .bind(&reason)
                    .bind(failures.to_string())
                    .bind(job.id)
                    .execute(&mut *transaction)
                    .await?;
            }
            transaction.commit().await?;
        }
        Err(PhoneError::Refused(reason)) => {
            record_for_all(floor, jobs, EventKind::CallError, person_id, Some(&reason)).await;
            set_calls(&floor.db, jobs, "failed", None, Some(&reason)).await?;
        }
    }
    Ok(())
}

/// Reads the call's status every two seconds until it ends; a failed call is retried per the
/// chain's policy unless the incident was acknowledged meanwhile.
async fn follow_call(floor: &Floor, person_id: i64, sid: &str, jobs: &[CallJob], shutdown: &CancellationToken) {
    let Some(phone) = floor.phone.clone() else { return };
    let mut unavailable = 0_u32;
    loop {
        let wake = floor.clock.now() + CALL_POLL_INTERVAL;
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = floor.clock.sleep_until(wake) => {}
        }
        match phone.status(sid).await {
            Ok(status) if status.was_answered() => {
                let _ = set_calls(&floor.db, jobs, "done", None, None).await;
                record_for_all(floor, jobs, EventKind::CallAnswered, person_id, None).await;
                break;
            }
            Ok(status) if status.is_failure() => {
                let _ = set_calls(&floor.db, jobs, "failed", None, Some(status.as_str())).await;
                record_for_all(floor, jobs, EventKind::CallFailed, person_id, Some(status.as_str())).await;
                if let Err(error) = schedule_retries(floor, person_id, jobs).await {
                    tracing::error!(%error, "could not schedule a call retry");
                }
                break;
            }
            Ok(_) => {}
            Err(PhoneError::Unavailable(_)) if unavailable < 150 => unavailable += 1,
            Err(error) => {
                let _ = set_calls(&floor.db, jobs, "failed", None, Some(&error.to_string())).await;
                record_for_all(floor, jobs, EventKind::CallError, person_id, Some(&error.to_string())).await;
                break;
            }
        }
    }
    floor.scheduler.wake();
}

async fn schedule_retries(floor: &Floor, person_id: i64, jobs: &[CallJob]) -> anyhow::Result<()> {
    let now = floor.clock.now();
    for job in jobs {
        let Some(incident_id) = job.incident_id else { continue };
        let Some(incident) = incident::get(&floor.db, incident_id).await? else { continue };
        let chain = floor.config.chain_for(&team::team_name(&floor.db, incident.team_id).await?).clone();
        if job.attempts >= i64::from(chain.call_retry.times) {
            continue;
        }
        let due = now + chrono::Duration::from_std(chain.call_retry.after).unwrap_or(chrono::Duration::MAX);
        let mut transaction = floor.db.begin().await?;
        // Only while nobody has acknowledged: checked in the same transaction that adds it.
        let inserted = sqlx::query(
            "INSERT INTO jobs (kind, incident_id, person_id, due_at, attempts, created_at, updated_at)
             SELECT 'call', id, ?, ?, ?, ?, ? FROM incidents WHERE id = ? AND acknowledged_at IS NULL AND resolved_at IS NULL",
        )
        .bind(person_id)
        .bind(due)
        .bind(job.attempts + 1)
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
            enqueue_refresh(&mut transaction, incident_id, now).await?;
        }
        transaction.commit().await?;
    }
    Ok(())
}
