//! Phone calls: claimed per person (every due call for one person merges into one, and
//! nobody is called twice at once), placed with what is true at that moment, followed until
//! they end, retried when unanswered, hung up when every incident they speak of was
//! acknowledged, and never placed twice: when an earlier attempt's outcome is unknown (the
//! request timed out, or the bot died while placing), the provider is asked first.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::Deps;
use super::ports::{CallRequest, PhoneError};
use crate::db::calls::{self as store, CallEvent, CallJob, CallPlan};
use crate::db::jobs::Job;
use crate::db::{self, incidents};
use crate::domain::calls::{CallStatus, SpokenIncident, call_text, retry_after};
use crate::domain::incident::{EventKind, RETRY_AT};
use crate::domain::retry;
use crate::i18n::Lang;

/// How often a ringing call's status is read.
const CALL_POLL_INTERVAL: chrono::Duration = chrono::Duration::seconds(2);
/// How far before an uncertain attempt a call found at the provider may have been created
/// (the provider's clock and ours differ a little).
const LOOKUP_SKEW: chrono::Duration = chrono::Duration::seconds(60);
/// Status reads a provider may fail before a call is given up on.
const STATUS_FAILURES: u32 = 150;
/// A call that waited this long for a slot checks again which of its incidents still wait
/// for someone before it is placed. (Sooner, an acknowledgement is caught after placing: the
/// call is hung up, or speaks only of what is still open.)
const STALE_AFTER_WAITING: std::time::Duration = std::time::Duration::from_secs(1);

/// Places every claimed group, each in a task holding a call slot only while placing.
pub(super) async fn spawn_all(
    deps: &Arc<Deps>,
    groups: Vec<(i64, Vec<CallJob>)>,
    slots: &Arc<Semaphore>,
    tasks: &mut JoinSet<()>,
    shutdown: &CancellationToken,
) {
    if groups.is_empty() {
        return;
    }
    let mut plans = store::plan(&deps.db, &groups).await.unwrap_or_else(|error| {
        tracing::error!(%error, "could not read what the calls should say");
        HashMap::new()
    });
    for (person_id, jobs) in groups {
        let plan = plans.remove(&person_id).unwrap_or_default();
        let deps = Arc::clone(deps);
        let shutdown = shutdown.clone();
        let slots = Arc::clone(slots);
        tasks.spawn(async move {
            let claimed = tokio::time::Instant::now();
            let Ok(permit) = slots.acquire_owned().await else { return };
            let stale = claimed.elapsed() > STALE_AFTER_WAITING;
            place(&deps, person_id, jobs, plan, permit, stale, &shutdown).await;
        });
    }
}

async fn record_for(deps: &Deps, incidents: &[i64], kind: EventKind, person_id: i64, detail: Option<&str>) {
    let now = deps.now();
    for incident_id in incidents {
        if let Err(error) = incidents::record_now(&deps.db, *incident_id, now, kind, Some(person_id), detail).await {
            tracing::error!(incident = incident_id, %error, "could not record a call event");
        }
    }
    // Each event queued a refresh of the live messages.
    deps.runner.wake();
}

fn call_event<'a>(deps: &Deps, kind: EventKind, person_id: i64, detail: Option<&'a str>) -> Option<CallEvent<'a>> {
    Some(CallEvent { kind, person_id, detail, at: deps.now() })
}

fn incidents_of(jobs: &[CallJob]) -> Vec<i64> {
    jobs.iter().filter_map(|job| job.incident_id).collect()
}

/// Places one call to a person for every incident waiting on them, then follows it. The
/// permit (a place among the calls being placed) is given back as soon as the call is placed.
async fn place(
    deps: &Deps,
    person_id: i64,
    jobs: Vec<CallJob>,
    plan: CallPlan,
    permit: tokio::sync::OwnedSemaphorePermit,
    stale: bool,
    shutdown: &CancellationToken,
) {
    if let Err(error) = try_place(deps, person_id, jobs.clone(), plan, permit, stale, shutdown).await {
        tracing::error!(person = person_id, error = format!("{error:#}"), "call handling failed");
        let _ = store::transition(&deps.db, &jobs, "placing", "failed", None, Some("internal error"), None).await;
    }
    deps.runner.wake();
}

async fn try_place(
    deps: &Deps,
    person_id: i64,
    jobs: Vec<CallJob>,
    plan: CallPlan,
    permit: tokio::sync::OwnedSemaphorePermit,
    stale: bool,
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    let Some(phone) = deps.phone.clone() else {
        tracing::warn!(person = person_id, "no phone provider configured; skipping a call step");
        let event = call_event(deps, EventKind::CallNoProvider, person_id, None);
        store::transition(&deps.db, &jobs, "placing", "failed", None, Some("no phone provider"), event).await?;
        deps.runner.wake();
        return Ok(());
    };
    let Some(number) = plan.number.clone() else {
        let event = call_event(deps, EventKind::CallNoNumber, person_id, None);
        store::transition(&deps.db, &jobs, "placing", "failed", None, Some("no phone number"), event).await?;
        deps.runner.wake();
        return Ok(());
    };
    // Say what is true now: after a long wait for a slot, incidents acknowledged since the
    // claim are left out, and a call about nothing is not placed. (A read per call would
    // slow a burst of calls down: it waits for the writes of the calls placed before it.)
    let jobs = if stale {
        let open = store::still_open(&deps.db, &jobs).await?;
        let jobs: Vec<CallJob> = jobs.into_iter().filter(|job| open.contains(&job.id)).collect();
        if jobs.is_empty() {
            return Ok(());
        }
        jobs
    } else {
        jobs
    };
    let speaks_of: Vec<SpokenIncident> = plan
        .incidents
        .iter()
        .filter(|planned| jobs.iter().any(|job| job.incident_id == Some(planned.id)))
        .cloned()
        .collect();
    let lang = plan.lang.unwrap_or(deps.config.language);
    let request = CallRequest {
        to: number.as_str().to_owned(),
        text: call_text(&deps.i18n, lang, &speaks_of),
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
                let event = call_event(deps, EventKind::CallPlaced, person_id, None);
                store::transition(&deps.db, &jobs, "placing", "ringing", Some(&found.sid), None, event).await?;
                deps.runner.wake();
                follow(deps, person_id, &found.sid, shutdown).await;
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
                    let event = call_event(deps, EventKind::CallPlaced, person_id, detail);
                    let ringing =
                        store::transition(&deps.db, &jobs, "placing", "ringing", Some(&sid), None, event).await?;
                    if ringing.is_empty() {
                        // Acknowledged while the call was being placed: hang up at once.
                        hang_up(deps, person_id, &sid, &incidents_of(&jobs)).await;
                    } else if ringing.len() < jobs.len() {
                        redirect(deps, person_id, &sid, lang).await;
                    }
                    deps.runner.wake();
                    follow(deps, person_id, &sid, shutdown).await;
                }
                None => {
                    let event = call_event(deps, EventKind::CallPlaced, person_id, detail);
                    store::transition(&deps.db, &jobs, "placing", "done", None, None, event).await?;
                    deps.runner.wake();
                }
            }
        }
        Err(PhoneError::Unavailable(reason)) => {
            // The provider is down or did not answer: the call stays due, backing off, until
            // it gets through or the incident is acknowledged. The request may have arrived
            // all the same, so the next attempt looks first.
            let failures = jobs.iter().map(|job| job.provider_failures).max().unwrap_or(0) + 1;
            let wait =
                retry::PROVIDER.after(u32::try_from(failures).unwrap_or(u32::MAX)).unwrap_or(retry::PROVIDER.max);
            let due = deps.now() + chrono::Duration::from_std(wait).unwrap_or_default();
            // Data, not words: the time is shown in each reader's zone and language.
            let detail = format!("{RETRY_AT} {}", due.to_rfc3339());
            let incidents = store::provider_unavailable(&deps.db, &jobs, due, &reason, failures).await?;
            record_for(deps, &incidents, EventKind::CallError, person_id, Some(&detail)).await;
        }
        Err(PhoneError::Refused(reason)) => {
            let event = call_event(deps, EventKind::CallError, person_id, Some(&reason));
            store::transition(&deps.db, &jobs, "placing", "failed", None, Some(&reason), event).await?;
            deps.runner.wake();
        }
    }
    Ok(())
}

/// At start: calls that were ringing when the bot stopped are followed again.
pub(super) async fn follow_ringing(deps: &Arc<Deps>, shutdown: &CancellationToken) -> anyhow::Result<()> {
    for (sid, person_id) in store::ringing(&deps.db).await? {
        let deps = Arc::clone(deps);
        let shutdown = shutdown.clone();
        tokio::spawn(async move { follow(&deps, person_id, &sid, &shutdown).await });
    }
    Ok(())
}

/// Reads the call's status every two seconds until it ends; a failed call is retried per the
/// chain's policy for each incident still waiting.
async fn follow(deps: &Deps, person_id: i64, sid: &str, shutdown: &CancellationToken) {
    let Some(phone) = deps.phone.clone() else { return };
    let mut unavailable = 0_u32;
    loop {
        let wake = deps.now() + CALL_POLL_INTERVAL;
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = deps.clock.sleep_until(wake) => {}
        }
        let outcome = match phone.status(sid).await {
            Ok(status) if status.was_answered() => ("done", EventKind::CallAnswered, None),
            Ok(status) if status.is_failure() => ("failed", EventKind::CallFailed, Some(status.as_str().to_owned())),
            Ok(_) => continue,
            Err(PhoneError::Unavailable(_)) if unavailable < STATUS_FAILURES => {
                unavailable += 1;
                continue;
            }
            Err(error) => ("failed", EventKind::CallError, Some(error.to_string())),
        };
        let (state, event, detail) = outcome;
        let ended = store::ended(&deps.db, sid, state, detail.as_deref()).await.unwrap_or_else(|error| {
            tracing::error!(%error, "could not record a call's outcome");
            Vec::new()
        });
        let incidents: Vec<i64> = ended.iter().map(|(incident, _)| *incident).collect();
        record_for(deps, &incidents, event, person_id, detail.as_deref()).await;
        if event == EventKind::CallFailed
            && let Err(error) = schedule_retries(deps, person_id, &ended).await
        {
            tracing::error!(%error, "could not schedule a call retry");
        }
        break;
    }
    deps.runner.wake();
}

/// Tries a failed call again for each incident still waiting, per its team's chain.
async fn schedule_retries(deps: &Deps, person_id: i64, ended: &[(i64, i64)]) -> anyhow::Result<()> {
    let now = deps.now();
    for (incident_id, attempts) in ended {
        let Some(incident) = incidents::get(&deps.db, *incident_id).await? else { continue };
        let (chain, _) = deps.team_settings(incident.team_id).await?;
        let Some(after) = retry_after(&chain.call_retry, *attempts, incident.awaits_response()) else { continue };
        let due = now + chrono::Duration::from_std(after).unwrap_or(chrono::Duration::MAX);
        let mut transaction = db::begin(&deps.db).await?;
        if store::retry(&mut transaction, *incident_id, person_id, attempts + 1, due, now).await? {
            let detail = due.to_rfc3339();
            incidents::record(
                &mut transaction,
                *incident_id,
                now,
                EventKind::CallRetry,
                None,
                Some(person_id),
                Some(&detail),
            )
            .await?;
            db::jobs::enqueue_refresh(&mut transaction, *incident_id, now, false).await?;
        }
        transaction.commit().await?;
    }
    Ok(())
}

/// Hangs up a call whose incidents were all acknowledged, and says so in their timelines.
async fn hang_up(deps: &Deps, person_id: i64, sid: &str, incidents: &[i64]) {
    let Some(phone) = deps.phone.clone() else { return };
    let answered = match phone.status(sid).await {
        Ok(status) if status.is_final() => return,
        Ok(status) => status == CallStatus::InProgress,
        Err(_) => false,
    };
    match phone.hang_up(sid, answered).await {
        Ok(()) => record_for(deps, incidents, EventKind::CallCancelled, person_id, None).await,
        Err(error) => tracing::warn!(person = person_id, %error, "could not hang up a call no longer needed"),
    }
}

/// Makes a merged call speak only of the incidents still waiting.
async fn redirect(deps: &Deps, person_id: i64, sid: &str, lang: Lang) {
    let Some(phone) = deps.phone.clone() else { return };
    let spoken = match store::still_spoken_of(&deps.db, sid).await {
        Ok(spoken) => spoken,
        Err(error) => {
            tracing::error!(%error, "could not read what a call still speaks of");
            return;
        }
    };
    if spoken.is_empty() {
        return;
    }
    let text = call_text(&deps.i18n, lang, &spoken);
    if let Err(error) = phone.redirect(sid, &text, lang).await {
        tracing::warn!(person = person_id, %error, "could not change what a call says");
    }
}

/// The `call_cancel` and `call_update` jobs: some or all incidents of a call were
/// acknowledged; the call is hung up, or made to speak of the rest.
pub(super) async fn update(deps: &Deps, job: &Job) -> anyhow::Result<()> {
    let (Some(sid), Some(person_id)) = (job.payload.as_deref(), job.person_id) else { return Ok(()) };
    if store::still_needed(&deps.db, sid).await? == 0 {
        hang_up(deps, person_id, sid, &job.incident_id.into_iter().collect::<Vec<_>>()).await;
    } else {
        let lang = deps.chat_language(person_id).await;
        redirect(deps, person_id, sid, lang).await;
    }
    Ok(())
}
