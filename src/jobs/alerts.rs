//! Jobs that tell people: the relay to operations, the confirmation in the team group, each
//! escalation step and the private messages and mentions it creates, and the notice to the
//! reporter. Messages of these kinds merge into digests when they come in bursts.

use super::live::view;
use super::{Deps, message_id};
use crate::db::jobs::{self, Job, JobKind, JobState};
use crate::db::{self, incidents};
use crate::domain::escalation::{self, Action, StepDecision, Target};
use crate::domain::incident::EventKind;
use crate::domain::outbound::{DeliveryError, MergeItem, MergeKind, Outgoing};
use crate::domain::render::{People, incident as render};

/// Posts the relay in the cross-department group (or records that there is none).
pub(super) async fn relay(deps: &Deps, job: &Job) -> anyhow::Result<()> {
    let Some(incident_id) = job.incident_id else { return Ok(()) };
    let Some(incident) = incidents::get(&deps.db, incident_id).await? else { return Ok(()) };
    if incident.ops_message_id.is_some() {
        return Ok(());
    }
    let Some(ops_chat) = incidents::ops_group(&deps.db).await? else {
        incidents::record_now(&deps.db, incident_id, deps.now(), EventKind::RelayFailed, None, None).await?;
        return Ok(());
    };
    let lang = deps.chat_language(ops_chat).await;
    let view = view(deps, incident).await?;
    let message = Outgoing::new(render::relay(&deps.i18n, lang, &view))
        .with_keyboard(render::keyboard(&deps.i18n, lang, &view.incident))
        .escalation()
        .merging(MergeKind::Relay, MergeItem { subject: incident_id, detail: None })
        .live();
    let sent = deps.messenger.send(ops_chat, message).await?;
    if let Some(last) = sent.last() {
        incidents::set_relay_message(&deps.db, &[incident_id], last.chat_id, last.message_id, deps.now()).await?;
    }
    Ok(())
}

/// Posts the confirmation in the reporter's team group: the guidance for the agent with the
/// customer, then the live status. Findings on patrol show in the checklist instead.
pub(super) async fn confirm(deps: &Deps, job: &Job) -> anyhow::Result<()> {
    let Some(incident_id) = job.incident_id else { return Ok(()) };
    let Some(incident) = incidents::get(&deps.db, incident_id).await? else { return Ok(()) };
    if !incident.is_store_anomaly() || incident.team_message_id.is_some() {
        return Ok(());
    }
    let Some(chat_id) = incident.report_chat_id else { return Ok(()) };
    let lang = deps.chat_language(chat_id).await;
    let view = view(deps, incident).await?;
    let message = Outgoing::new(render::team_message(&deps.i18n, lang, &view))
        .replying_to(message_id(view.incident.report_message_id))
        .with_keyboard(render::keyboard(&deps.i18n, lang, &view.incident))
        .merging(MergeKind::Confirmation, MergeItem { subject: incident_id, detail: None })
        .live();
    let sent = deps.messenger.send(chat_id, message).await?;
    if let Some(last) = sent.last() {
        incidents::set_team_message(&deps.db, &[incident_id], last.chat_id, last.message_id).await?;
    }
    Ok(())
}

/// People holding a role right now (configured supervisors count as supervisors).
async fn holders(deps: &Deps, role: crate::domain::team::Role) -> sqlx::Result<Vec<i64>> {
    if role == crate::domain::team::Role::Supervisor {
        return db::people::supervisors_in_order(&deps.db, &deps.config.supervisors).await;
    }
    db::people::role_holders(&deps.db, role).await
}

/// One escalation step: resolve its target, decide ([`escalation::decide_step`]), then create
/// the calls, messages and mentions that are new — in one transaction that first takes the
/// write lock, so an acknowledgement either committed before (and the step stops) or waits.
pub(super) async fn step(deps: &Deps, job: &Job) -> anyhow::Result<()> {
    let now = deps.now();
    let Some(incident_id) = job.incident_id else { return Ok(()) };
    let Some(incident) = incidents::get(&deps.db, incident_id).await? else { return Ok(()) };
    let (chain, _) = deps.team_settings(incident.team_id).await?;
    let index = usize::try_from(job.step_index.unwrap_or(-1)).ok();
    let Some(step) = index.and_then(|index| chain.steps.get(index)).cloned() else {
        jobs::set_state(&deps.db, job.id, JobState::Done, Some("the chain no longer has this step")).await?;
        return Ok(());
    };
    let on_duty = db::people::on_duty(&deps.db, &deps.config.supervisors).await?;
    let supervisors = db::people::supervisors_in_order(&deps.db, &deps.config.supervisors).await?;
    let role_holders = match &step.target {
        Target::Role(role) => holders(deps, *role).await?,
        _ => Vec::new(),
    };
    let people = escalation::resolve(
        &step.target,
        &escalation::Floor { on_duty, supervisors: &supervisors, role_holders: &role_holders },
    );
    let step_number = index.map(|index| index + 1).unwrap_or_default();

    let mut transaction = db::begin(&deps.db).await?;
    let state = db::escalation::begin_step(&mut transaction, job.id, incident_id, now).await?;
    let StepDecision::Fire { late, nobody, todo } =
        escalation::decide_step(&step, state.awaits_response, job.due_at, now, &people, &state.done)
    else {
        transaction.commit().await?;
        return Ok(());
    };
    // Details are data (the step, seconds late, the target), put in words when read.
    if let Some(late) = late {
        let detail = format!("{step_number} {}", late.num_seconds());
        incidents::record(&mut transaction, incident_id, now, EventKind::StepLate, None, None, Some(&detail)).await?;
    }
    let number = step_number.to_string();
    incidents::record(&mut transaction, incident_id, now, EventKind::Step, None, None, Some(&number)).await?;
    if nobody {
        let detail = format!("{step_number} {}", step.target);
        incidents::record(&mut transaction, incident_id, now, EventKind::StepNobody, None, None, Some(&detail)).await?;
    }
    let mut to_mention = Vec::new();
    for (person, action) in todo {
        db::escalation::mark_done(&mut transaction, incident_id, person, action).await?;
        match action {
            Action::Call => {
                jobs::enqueue(&mut transaction, JobKind::Call, Some(incident_id), Some(person), None, now).await?;
            }
            Action::Private => {
                jobs::enqueue(&mut transaction, JobKind::Private, Some(incident_id), Some(person), None, now).await?;
            }
            Action::Mention => to_mention.push(person.to_string()),
        }
    }
    if !to_mention.is_empty() {
        let payload = to_mention.join(",");
        jobs::enqueue(&mut transaction, JobKind::Mention, Some(incident_id), None, Some(&payload), now).await?;
    }
    jobs::enqueue_refresh(&mut transaction, incident_id, now, false).await?;
    transaction.commit().await?;
    deps.runner.wake();
    Ok(())
}

pub(super) async fn private_message(deps: &Deps, job: &Job) -> anyhow::Result<()> {
    let (Some(incident_id), Some(person_id)) = (job.incident_id, job.person_id) else { return Ok(()) };
    let Some(incident) = incidents::get(&deps.db, incident_id).await? else { return Ok(()) };
    let lang = deps.chat_language(person_id).await;
    let now = deps.now();
    let view = view(deps, incident).await?;
    let message = Outgoing::new(render::private_alert(&deps.i18n, lang, &view, now))
        .escalation()
        .merging(MergeKind::PrivateAlert, MergeItem { subject: incident_id, detail: None });
    let event = match deps.messenger.send(person_id, message).await {
        Ok(_) => EventKind::PrivateSent,
        Err(DeliveryError::PersonUnreachable | DeliveryError::Refused(_) | DeliveryError::ChatGone) => {
            EventKind::PrivateFailed
        }
        Err(error) => return Err(error.into()),
    };
    incidents::record_now(&deps.db, incident_id, now, event, Some(person_id), None).await?;
    Ok(())
}

pub(super) async fn mention(deps: &Deps, job: &Job) -> anyhow::Result<()> {
    let Some(incident_id) = job.incident_id else { return Ok(()) };
    let Some(incident) = incidents::get(&deps.db, incident_id).await? else { return Ok(()) };
    let Some(chat_id) = incident.team_chat_id.or(incident.report_chat_id) else { return Ok(()) };
    let ids: Vec<i64> =
        job.payload.as_deref().unwrap_or_default().split(',').filter_map(|id| id.parse::<i64>().ok()).collect();
    if ids.is_empty() {
        return Ok(());
    }
    let named: People = db::views::named(&deps.db, ids.clone()).await?;
    let mentions: Vec<String> = ids.iter().map(|id| named.mention(*id)).collect();
    let lang = deps.chat_language(chat_id).await;
    let now = deps.now();
    let reply_to = message_id(incident.team_message_id).or(message_id(incident.report_message_id));
    let view = view(deps, incident).await?;
    let message = Outgoing::new(render::mention(&deps.i18n, lang, &view, &deps.i18n.list(lang, &mentions), now))
        .replying_to(reply_to)
        .escalation()
        .merging(MergeKind::Mention, MergeItem { subject: incident_id, detail: job.payload.clone() });
    deps.messenger.send(chat_id, message).await?;
    let named_ids = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    incidents::record_now(&deps.db, incident_id, now, EventKind::Mentioned, None, Some(&named_ids)).await?;
    Ok(())
}

pub(super) async fn notify_reporter(deps: &Deps, job: &Job) -> anyhow::Result<()> {
    let Some(incident_id) = job.incident_id else { return Ok(()) };
    let Some(incident) = incidents::get(&deps.db, incident_id).await? else { return Ok(()) };
    let Some(chat_id) = incident.report_chat_id else { return Ok(()) };
    if db::people::person(&deps.db, incident.reporter_id).await?.is_none() {
        return Ok(());
    }
    let lang = deps.chat_language(chat_id).await;
    let resolved = job.payload.as_deref() == Some(EventKind::Resolved.as_str());
    let reply_to = message_id(incident.report_message_id);
    let view = view(deps, incident).await?;
    let message = Outgoing::new(render::notice(&deps.i18n, lang, &view, resolved))
        .replying_to(reply_to)
        .merging(MergeKind::Notice, MergeItem { subject: incident_id, detail: job.payload.clone() });
    deps.messenger.send(chat_id, message).await?;
    Ok(())
}
