//! The one durable job runner. Everything with a deadline — escalation steps, calls and their
//! retries, private messages, group mentions, relays, confirmations, message refreshes, form
//! expiry, the patrol's timers — is a row in `jobs` (see [`crate::db::jobs`]), written in the
//! same transaction as the event that caused it.
//!
//! The runner sleeps (on the injected clock) until the earliest row it can actually claim — a
//! call waiting for the same person's ringing call is not due yet — or until woken. It claims
//! due rows by moving them out of `pending` in one statement and runs each in its class:
//! escalation steps, jobs that wait on Telegram, and everything else each have their own
//! slots, so a burst of relays never holds up a due step, and a ringing phone holds no slot
//! at all. An acknowledgement cancels pending rows and stops claimed calls in its own
//! transaction, so whichever of the two commits first decides.
//!
//! At start, rows a crash left `running` are run again (marked possibly repeated); calls left
//! `placing` are looked up at the provider before they are placed again; calls left `ringing`
//! are followed again.
//!
//! Jobs reach Telegram and the phone only through [`ports`].

mod alerts;
mod calls;
mod forms;
pub mod live;
pub mod patrol;
pub mod ports;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sqlx::SqlitePool;
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use self::ports::{Messenger, Phone};
use crate::clock::Clock;
use crate::config::Config;
use crate::db::jobs::{self as queue, Job, JobKind, JobState};
use crate::domain::escalation::Chain;
use crate::domain::retry;
use crate::i18n::{I18n, Lang};

/// What jobs work with: storage, settings, texts, time, and the two edges.
pub struct Deps {
    pub db: SqlitePool,
    pub config: Arc<Config>,
    pub i18n: Arc<I18n>,
    pub clock: Arc<dyn Clock>,
    pub messenger: Arc<dyn Messenger>,
    pub phone: Option<Arc<dyn Phone>>,
    pub runner: RunnerHandle,
}

impl Deps {
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The language of a chat: its `/lang` setting, else the configured default.
    pub async fn chat_language(&self, chat_id: i64) -> Lang {
        match crate::db::chats::chat_language(&self.db, chat_id).await {
            Ok(Some(lang)) => lang,
            Ok(None) => self.config.language,
            Err(error) => {
                tracing::error!(%error, "could not read the chat language");
                self.config.language
            }
        }
    }

    /// A team's escalation chain and time zone by its name, as the views need them.
    pub fn team_settings_by_name(&self) -> impl Fn(&str) -> (Chain, Tz) + Send + Sync + '_ {
        |name| (self.config.chain_for(name).clone(), self.config.timezone_for(name))
    }

    /// A team's escalation chain and time zone.
    pub async fn team_settings(&self, team_id: i64) -> sqlx::Result<(Chain, Tz)> {
        let name = crate::db::chats::team_name(&self.db, team_id).await?;
        Ok((self.config.chain_for(&name).clone(), self.config.timezone_for(&name)))
    }
}

/// Wakes the runner when a new row may be due sooner than it planned; counts how often it
/// woke, which shows whether it sleeps when nothing can be done.
#[derive(Clone, Default)]
pub struct RunnerHandle {
    notify: Arc<Notify>,
    /// One refresh per incident (or patrol) at a time, so an older render never lands last.
    refreshing: Arc<tokio::sync::Mutex<RefreshLocks>>,
    wakeups: Arc<AtomicU64>,
}

/// One lock per incident or patrol being redrawn.
type RefreshLocks = HashMap<(JobKind, i64), Arc<tokio::sync::Mutex<()>>>;

impl RunnerHandle {
    /// A handle counting the runner's wake-ups into `wakeups`.
    pub fn counting(wakeups: Arc<AtomicU64>) -> RunnerHandle {
        RunnerHandle { wakeups, ..RunnerHandle::default() }
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

fn class(kind: JobKind) -> Class {
    match kind {
        JobKind::Step | JobKind::CallCancel | JobKind::CallUpdate | JobKind::Call => Class::Escalation,
        JobKind::Relay | JobKind::Private | JobKind::Mention => Class::Alerts,
        _ => Class::Messages,
    }
}

/// The slots of each class.
struct Slots {
    escalation: Arc<Semaphore>,
    alerts: Arc<Semaphore>,
    messages: Arc<Semaphore>,
    /// Calls being placed at once (following a ringing call takes no slot).
    calls: Arc<Semaphore>,
}

impl Slots {
    fn new() -> Slots {
        Slots {
            escalation: Arc::new(Semaphore::new(64)),
            alerts: Arc::new(Semaphore::new(128)),
            messages: Arc::new(Semaphore::new(64)),
            calls: Arc::new(Semaphore::new(128)),
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
pub async fn run(deps: Arc<Deps>, shutdown: CancellationToken) {
    match queue::recover(&deps.db, deps.now()).await {
        Ok(0) => {}
        Ok(interrupted) => tracing::warn!(jobs = interrupted, "jobs interrupted by the last stop will run again"),
        Err(error) => tracing::error!(%error, "could not re-examine jobs left by the last run"),
    }
    if let Err(error) = calls::follow_ringing(&deps, &shutdown).await {
        tracing::error!(error = format!("{error:#}"), "could not follow the calls left ringing");
    }
    if let Err(error) = patrol::plan_all(&deps).await {
        tracing::error!(error = format!("{error:#}"), "could not plan the patrols");
    }
    let slots = Slots::new();
    let mut tasks = JoinSet::new();
    loop {
        deps.runner.wakeups.fetch_add(1, Ordering::Relaxed);
        while tasks.try_join_next().is_some() {}
        let now = deps.now();
        // Calls first: they are the most urgent, and placing one is quick (following it takes
        // no slot, so a ringing phone never holds up other work).
        match crate::db::calls::claim(&deps.db, now).await {
            Ok(groups) => calls::spawn_all(&deps, groups, &slots.calls, &mut tasks, &shutdown).await,
            Err(error) => tracing::error!(%error, "could not read due calls"),
        }
        match queue::claim_due(&deps.db, now).await {
            Ok(jobs) => {
                for job in jobs {
                    let slots = slots.of(class(job.kind));
                    let deps = Arc::clone(&deps);
                    // The task waits for its slot, so one full class never stops the loop.
                    tasks.spawn(async move {
                        let Ok(_permit) = slots.acquire_owned().await else { return };
                        perform(&deps, job).await;
                    });
                }
            }
            Err(error) => tracing::error!(%error, "could not read due jobs"),
        }
        if shutdown.is_cancelled() {
            break;
        }
        let next = queue::next_due(&deps.db).await.unwrap_or_else(|error| {
            tracing::error!(%error, "could not read the next due job");
            Some(now + chrono::Duration::seconds(5))
        });
        // Nothing pending: wait to be woken (an hour at most, as a safety net).
        let wake_at = next.unwrap_or(now + chrono::Duration::hours(1));
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = deps.runner.notify.notified() => {}
            _ = deps.clock.sleep_until(wake_at) => {}
        }
    }
    // Jobs in flight finish (their rows say what happened); a stuck one is left for recovery.
    let _ = tokio::time::timeout(Duration::from_secs(5), async { while tasks.join_next().await.is_some() {} }).await;
    tasks.abort_all();
}

fn patrol_of(job: &Job) -> Option<i64> {
    job.payload.as_deref().and_then(|payload| payload.parse().ok())
}

async fn perform(deps: &Deps, job: Job) {
    let result = match job.kind {
        JobKind::Relay => alerts::relay(deps, &job).await,
        JobKind::Confirm => alerts::confirm(deps, &job).await,
        JobKind::Step => alerts::step(deps, &job).await,
        JobKind::Private => alerts::private_message(deps, &job).await,
        JobKind::Mention => alerts::mention(deps, &job).await,
        JobKind::NotifyReporter => alerts::notify_reporter(deps, &job).await,
        JobKind::CallCancel | JobKind::CallUpdate => calls::update(deps, &job).await,
        JobKind::Refresh => match job.incident_id {
            Some(id) => {
                let lock = deps.runner.refresh_lock(job.kind, id).await;
                let _one_at_a_time = lock.lock().await;
                live::refresh_incident(deps, id, job.payload.as_deref() == Some("urgent")).await
            }
            None => Ok(()),
        },
        JobKind::FormExpiry => forms::expire(deps, job.payload.as_deref().unwrap_or_default()).await,
        JobKind::PatrolStart => match job.person_id {
            Some(team_id) => patrol::start(deps, team_id, job.payload.as_deref().unwrap_or_default()).await,
            None => Ok(()),
        },
        JobKind::PatrolReminder => match patrol_of(&job) {
            Some(patrol_id) => patrol::remind(deps, patrol_id).await,
            None => Ok(()),
        },
        JobKind::PatrolDeadline => match patrol_of(&job) {
            Some(patrol_id) => patrol::deadline(deps, patrol_id).await,
            None => Ok(()),
        },
        JobKind::PatrolRefresh => match patrol_of(&job) {
            Some(patrol_id) => {
                let lock = deps.runner.refresh_lock(job.kind, patrol_id).await;
                let _one_at_a_time = lock.lock().await;
                patrol::refresh(deps, patrol_id).await
            }
            None => Ok(()),
        },
        // Calls are claimed and placed apart from other jobs.
        JobKind::Call => Ok(()),
    };
    let outcome = match result {
        // Steps also mark themselves done inside their own transaction; this is idempotent.
        Ok(()) => queue::set_state(&deps.db, job.id, JobState::Done, None).await,
        Err(error) => retry_later(deps, &job, &format!("{error:#}")).await,
    };
    if let Err(error) = outcome {
        tracing::error!(job = job.id, %error, "could not record a job's outcome");
    }
    // What the job did may have added rows (a refresh, a sub-job) due now.
    deps.runner.wake();
}

/// Telegram or the database failed: try again later, backing off, never dropping the job.
async fn retry_later(deps: &Deps, job: &Job, error: &str) -> sqlx::Result<()> {
    let attempts = job.attempts + 1;
    let wait = retry::JOB.after(u32::try_from(attempts).unwrap_or(u32::MAX)).unwrap_or(retry::JOB.max);
    tracing::warn!(job = job.id, kind = %job.kind, attempts, error, "job failed; will retry");
    let due = deps.now() + chrono::Duration::from_std(wait).unwrap_or_default();
    queue::retry_at(&deps.db, job.id, attempts, due, error).await
}

/// A message id as Telegram takes it.
pub fn message_id(id: Option<i64>) -> Option<i32> {
    id.and_then(|id| i32::try_from(id).ok())
}
