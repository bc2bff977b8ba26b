//! The one durable job runner. Everything with a deadline — escalation steps, calls and their
//! retries, private messages, group mentions, relays, confirmations, message refreshes, form
//! expiry, the patrol's timers — is a row in `jobs`, written in the same transaction as the
//! event that caused it.
//!
//! The runner sleeps (on the injected [`Clock`](crate::clock::Clock)) until the earliest row it
//! can actually claim — a call waiting for the same person's ringing call is not due yet — or
//! until woken. It claims due rows by moving them out of `pending` in one statement and runs
//! each in its class: escalation steps, jobs that wait on Telegram, and everything else each
//! have their own slots, so a burst of relays never holds up a due step, and a ringing phone
//! holds no slot at all. An acknowledgement cancels pending rows and stops claimed calls in
//! its own transaction, so whichever of the two commits first decides.
//!
//! At start, rows a crash left `running` are run again (marked possibly repeated); calls left
//! `placing` are looked up at the provider before they are placed again; calls left `ringing`
//! are followed again.

mod alerts;
mod calls;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::{FromRow, Sqlite, SqlitePool, Transaction};
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::escalation::Chain;
use crate::telegram::Floor;

/// What a job does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
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

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Relay => "relay",
            JobKind::Confirm => "confirm",
            JobKind::Step => "step",
            JobKind::Private => "private",
            JobKind::Mention => "mention",
            JobKind::Call => "call",
            JobKind::CallCancel => "call_cancel",
            JobKind::CallUpdate => "call_update",
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
            "confirm" => JobKind::Confirm,
            "step" => JobKind::Step,
            "private" => JobKind::Private,
            "mention" => JobKind::Mention,
            "call" => JobKind::Call,
            "call_cancel" => JobKind::CallCancel,
            "call_update" => JobKind::CallUpdate,
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

    /// Which slots the job runs in.
    fn class(self) -> Class {
        match self {
            JobKind::Step | JobKind::CallCancel | JobKind::CallUpdate => Class::Escalation,
            JobKind::Relay | JobKind::Private | JobKind::Mention => Class::Alerts,
            JobKind::Call => Class::Escalation,
            _ => Class::Messages,
        }
    }
}

/// Job classes, each with slots of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    /// Escalation steps and call changes: quick database work that must never wait.
    Escalation,
    /// Escalation traffic that waits on Telegram: relays, private alerts, mentions.
    Alerts,
    /// Everything else: confirmations, refreshes, notices, forms, the patrol.
    Messages,
}

/// Slots per class.
const ESCALATION_SLOTS: usize = 64;
const ALERT_SLOTS: usize = 128;
const MESSAGE_SLOTS: usize = 64;
/// Calls being placed at once (following a ringing call takes no slot).
const CALL_SLOTS: usize = 128;

/// A step that fires this much after its due time (a restart, a busy machine) is marked late.
const LATE_AFTER_SECONDS: i64 = 2;

/// One lock per incident or patrol being redrawn.
type RefreshLocks = HashMap<(JobKind, i64), Arc<tokio::sync::Mutex<()>>>;

/// Wakes the runner when a new row may be due sooner than it planned; counts how often it
/// woke, which shows whether it sleeps when nothing can be done.
#[derive(Clone, Default)]
pub struct SchedulerHandle {
    notify: Arc<Notify>,
    /// One refresh per incident (or patrol) at a time, so an older render never lands last.
    refreshing: Arc<tokio::sync::Mutex<RefreshLocks>>,
    wakeups: Arc<AtomicU64>,
}

impl SchedulerHandle {
    /// A handle counting the runner's wake-ups into `wakeups`.
    pub fn counting(wakeups: Arc<AtomicU64>) -> SchedulerHandle {
        SchedulerHandle { wakeups, ..SchedulerHandle::default() }
    }

    pub fn wake(&self) {
        self.notify.notify_one();
    }

    async fn refresh_lock(&self, kind: JobKind, subject: i64) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.refreshing.lock().await;
        // Forget locks nobody holds, so the map stays as small as the work in flight.
        locks.retain(|_, lock| Arc::strong_count(lock) > 1);
        Arc::clone(locks.entry((kind, subject)).or_default())
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
/// pending refresh, so the latest state wins; `urgent` (an acknowledgement or resolution)
/// lets its first edit skip the spacing between edits.
pub async fn enqueue_refresh(
    transaction: &mut Transaction<'_, Sqlite>,
    incident_id: i64,
    now: DateTime<Utc>,
    urgent: bool,
) -> sqlx::Result<()> {
    let payload = urgent.then_some("urgent");
    let updated = sqlx::query(
        "UPDATE jobs SET payload = COALESCE(?2, payload)
         WHERE kind = 'refresh' AND incident_id = ?1 AND state = 'pending'",
    )
    .bind(incident_id)
    .bind(payload)
    .execute(&mut **transaction)
    .await?;
    if updated.rows_affected() == 0 {
        sqlx::query(
            "INSERT INTO jobs (kind, incident_id, payload, due_at, created_at, updated_at)
             VALUES ('refresh', ?1, ?2, ?3, ?3, ?3)",
        )
        .bind(incident_id)
        .bind(payload)
        .bind(now)
        .execute(&mut **transaction)
        .await?;
    }
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
    sqlx::query(
        "UPDATE jobs SET state = 'cancelled', updated_at = ?
         WHERE incident_id = ? AND state = 'pending' AND kind IN ('step', 'call', 'private', 'mention')",
    )
    .bind(now)
    .bind(incident_id)
    .execute(&mut **transaction)
    .await?;
    let claimed: Vec<(Option<String>, Option<i64>)> = sqlx::query_as(
        "UPDATE jobs SET state = 'cancelled', updated_at = ?
         WHERE incident_id = ? AND kind = 'call' AND state IN ('placing', 'ringing')
         RETURNING call_sid, person_id",
    )
    .bind(now)
    .bind(incident_id)
    .fetch_all(&mut **transaction)
    .await?;
    for (sid, person_id) in claimed {
        // A call still being placed has no sid yet: its placer sees the cancellation and hangs up.
        let Some(sid) = sid else { continue };
        let others: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE call_sid = ? AND state IN ('placing', 'ringing')")
                .bind(&sid)
                .fetch_one(&mut **transaction)
                .await?;
        let kind = if others == 0 { JobKind::CallCancel } else { JobKind::CallUpdate };
        enqueue(transaction, kind, Some(incident_id), person_id, Some(&sid), now).await?;
    }
    Ok(())
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

/// The slots of each class.
struct Slots {
    escalation: Arc<Semaphore>,
    alerts: Arc<Semaphore>,
    messages: Arc<Semaphore>,
    calls: Arc<Semaphore>,
}

impl Slots {
    fn new() -> Slots {
        Slots {
            escalation: Arc::new(Semaphore::new(ESCALATION_SLOTS)),
            alerts: Arc::new(Semaphore::new(ALERT_SLOTS)),
            messages: Arc::new(Semaphore::new(MESSAGE_SLOTS)),
            calls: Arc::new(Semaphore::new(CALL_SLOTS)),
        }
    }

    fn of(&self, class: Class) -> Arc<Semaphore> {
        Arc::clone(match class {
            Class::Escalation => &self.escalation,
            Class::Alerts => &self.alerts,
            Class::Messages => &self.messages,
        })
    }
}

/// Runs until `shutdown`; then waits briefly for the jobs in flight.
pub async fn run(floor: Arc<Floor>, shutdown: CancellationToken) {
    if let Err(error) = recover(&floor, &shutdown).await {
        tracing::error!(error = format!("{error:#}"), "could not re-examine jobs left by the last run");
    }
    if let Err(error) = crate::patrol::plan_all(&floor).await {
        tracing::error!(error = format!("{error:#}"), "could not plan the patrols");
    }
    let slots = Slots::new();
    let mut tasks = JoinSet::new();
    loop {
        floor.scheduler.wakeups.fetch_add(1, Ordering::Relaxed);
        while tasks.try_join_next().is_some() {}
        let now = floor.clock.now();
        // Calls first: they are the most urgent, and placing one is quick (following it takes
        // no slot, so a ringing phone never holds up other work).
        match calls::claim(&floor.db, now).await {
            Ok(groups) => calls::spawn_all(&floor, groups, &slots.calls, &mut tasks, &shutdown).await,
            Err(error) => tracing::error!(%error, "could not read due calls"),
        }
        match claim_due(&floor.db, now).await {
            Ok(jobs) => {
                for job in jobs {
                    let Some(kind) = JobKind::parse(&job.kind) else {
                        tracing::error!(job = job.id, kind = job.kind, "unknown job kind");
                        set_state(&floor.db, job.id, "failed", Some("unknown kind")).await;
                        continue;
                    };
                    let slots = slots.of(kind.class());
                    let floor = Arc::clone(&floor);
                    // The task waits for its slot, so one full class never stops the loop.
                    tasks.spawn(async move {
                        let Ok(_permit) = slots.acquire_owned().await else { return };
                        perform(&floor, kind, job).await;
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

/// The earliest job the runner could claim: a call waiting for the same person's call in
/// progress is not claimable until that call ends (which wakes the runner).
async fn next_due(db: &SqlitePool) -> sqlx::Result<Option<DateTime<Utc>>> {
    sqlx::query_scalar(
        "SELECT MIN(due_at) FROM jobs
         WHERE state = 'pending'
           AND NOT (kind = 'call' AND person_id IN (SELECT person_id FROM jobs WHERE kind = 'call'
                                                      AND state IN ('placing', 'ringing') AND person_id IS NOT NULL))",
    )
    .fetch_one(db)
    .await
}

/// Claims every due job except calls: one statement moves them to `running`, so no job is
/// claimed twice. Escalation comes first.
async fn claim_due(db: &SqlitePool, now: DateTime<Utc>) -> sqlx::Result<Vec<Job>> {
    sqlx::query_as(
        "UPDATE jobs SET state = 'running', updated_at = ?1
         WHERE id IN (SELECT id FROM jobs WHERE state = 'pending' AND kind <> 'call' AND due_at <= ?1
                      ORDER BY kind <> 'step', due_at, id LIMIT 500)
         RETURNING id, kind, incident_id, step_index, person_id, payload, due_at, attempts",
    )
    .bind(now)
    .fetch_all(db)
    .await
}

/// After a crash: half-done work is made due again (marked possibly repeated); calls that
/// were being placed are looked up before they are placed again; ringing ones are followed.
async fn recover(floor: &Arc<Floor>, shutdown: &CancellationToken) -> anyhow::Result<()> {
    let now = floor.clock.now();
    let rerun = sqlx::query("UPDATE jobs SET state = 'pending', repeated = 1, updated_at = ? WHERE state = 'running'")
        .bind(now)
        .execute(&floor.db)
        .await?;
    let unknown = sqlx::query(
        "UPDATE jobs SET state = 'pending', outcome_unknown = 1, updated_at = ?
         WHERE state = 'placing' AND call_sid IS NULL",
    )
    .bind(now)
    .execute(&floor.db)
    .await?;
    let interrupted = rerun.rows_affected() + unknown.rows_affected();
    if interrupted > 0 {
        tracing::warn!(jobs = interrupted, "jobs interrupted by the last stop will run again");
    }
    // A render waiting in the lane when the process stopped is gone: redraw every live
    // message that may still change. Those already right are not edited (their hash says so).
    let since = now - chrono::Duration::days(1);
    sqlx::query(
        "INSERT INTO jobs (kind, incident_id, due_at, created_at, updated_at)
         SELECT 'refresh', id, ?1, ?1, ?1 FROM incidents
         WHERE (resolved_at IS NULL OR resolved_at > ?2) AND (team_message_id IS NOT NULL OR ops_message_id IS NOT NULL)
           AND NOT EXISTS (SELECT 1 FROM jobs WHERE kind = 'refresh' AND state = 'pending' AND jobs.incident_id = incidents.id)",
    )
    .bind(now)
    .bind(since)
    .execute(&floor.db)
    .await?;
    sqlx::query(
        "INSERT INTO jobs (kind, payload, due_at, created_at, updated_at)
         SELECT 'patrol_refresh', CAST(id AS TEXT), ?1, ?1, ?1 FROM patrols
         WHERE message_id IS NOT NULL AND (completed_at IS NULL OR completed_at > ?2) AND deadline_at > ?2
           AND NOT EXISTS (SELECT 1 FROM jobs WHERE kind = 'patrol_refresh' AND state = 'pending'
                           AND jobs.payload = CAST(patrols.id AS TEXT))",
    )
    .bind(now)
    .bind(since)
    .execute(&floor.db)
    .await?;
    calls::follow_ringing(floor, shutdown).await
}

async fn perform(floor: &Floor, kind: JobKind, job: Job) {
    let result = match kind {
        JobKind::Relay => alerts::relay(floor, &job).await,
        JobKind::Confirm => alerts::confirm(floor, &job).await,
        JobKind::Step => alerts::step(floor, &job).await,
        JobKind::Private => alerts::private_message(floor, &job).await,
        JobKind::Mention => alerts::mention(floor, &job).await,
        JobKind::NotifyReporter => alerts::notify_reporter(floor, &job).await,
        JobKind::CallCancel => calls::cancel(floor, &job).await,
        JobKind::CallUpdate => calls::update(floor, &job).await,
        JobKind::Refresh => match job.incident_id {
            Some(id) => {
                let lock = floor.scheduler.refresh_lock(kind, id).await;
                let _one_at_a_time = lock.lock().await;
                crate::incident::refresh_messages(floor, id, job.payload.as_deref() == Some("urgent")).await
            }
            None => Ok(()),
        },
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
            Some(patrol_id) => {
                let lock = floor.scheduler.refresh_lock(kind, patrol_id).await;
                let _one_at_a_time = lock.lock().await;
                crate::patrol::refresh(floor, patrol_id).await
            }
            None => Ok(()),
        },
        // Calls are claimed and placed apart from other jobs.
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
