//! Jobs that tell people: the relay to operations, the confirmation in the team group, each
//! escalation step and the private messages and mentions it creates, and the notice to the
//! reporter. Messages of these kinds merge into digests in the lane when they come in bursts.

use super::{Job, JobKind, LATE_AFTER_SECONDS, enqueue, enqueue_refresh, message_id, set_state};
use crate::escalation::{self, Action};
use crate::i18n::Arg;
use crate::incident::{self, EventKind};
use crate::telegram::Floor;
use crate::telegram::lane::{MergeItem, MergeKind, Priority, SendError, SendOptions};
use crate::{store, t, team};

/// Posts the relay in the cross-department group (or records that there is none).
pub(super) async fn relay(floor: &Floor, job: &Job) -> anyhow::Result<()> {
    let Some(incident_id) = job.incident_id else { return Ok(()) };
    let Some(incident) = incident::get(&floor.db, incident_id).await? else { return Ok(()) };
    if incident.ops_message_id.is_some() {
        return Ok(());
    }
    let Some(ops_chat) = incident::ops_group(&floor.db).await? else {
        incident::record_now(&floor.db, incident_id, floor.clock.now(), EventKind::RelayFailed, None, None).await?;
        return Ok(());
    };
    let lang = floor.chat_language(ops_chat).await;
    let text = incident::render_relay(floor, lang, &incident).await?;
    let options = SendOptions {
        keyboard: incident::keyboard(&floor.i18n, lang, &incident),
        priority: Priority::Escalation,
        merge: Some((MergeKind::Relay, MergeItem { subject: incident_id, detail: None })),
        live: true,
        ..SendOptions::default()
    };
    let sent = floor.lane.send(ops_chat, &text, options).await?;
    if let Some(last) = sent.last() {
        incident::set_relay_message(&floor.db, &[incident_id], last.chat_id, last.message_id, floor.clock.now())
            .await?;
    }
    Ok(())
}

/// Posts the confirmation in the reporter's team group: the guidance for the agent with the
/// customer, then the live status. Findings on patrol show in the checklist instead.
pub(super) async fn confirm(floor: &Floor, job: &Job) -> anyhow::Result<()> {
    let Some(incident_id) = job.incident_id else { return Ok(()) };
    let Some(incident) = incident::get(&floor.db, incident_id).await? else { return Ok(()) };
    if !incident.is_store_anomaly() || incident.team_message_id.is_some() {
        return Ok(());
    }
    let Some(chat_id) = incident.report_chat_id else { return Ok(()) };
    let lang = floor.chat_language(chat_id).await;
    let text = incident::render_team_message(floor, lang, &incident).await?;
    let options = SendOptions {
        reply_to: message_id(incident.report_message_id),
        keyboard: incident::keyboard(&floor.i18n, lang, &incident),
        priority: Priority::Reply,
        merge: Some((MergeKind::Confirmation, MergeItem { subject: incident_id, detail: None })),
        live: true,
        ..SendOptions::default()
    };
    let sent = floor.lane.send(chat_id, &text, options).await?;
    if let Some(last) = sent.last() {
        incident::set_team_message(&floor.db, &[incident_id], last.chat_id, last.message_id).await?;
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
pub(super) async fn step(floor: &Floor, job: &Job) -> anyhow::Result<()> {
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

    let mut transaction = crate::db::begin(&floor.db).await?;
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
    enqueue_refresh(&mut transaction, incident_id, now, false).await?;
    transaction.commit().await?;
    floor.scheduler.wake();
    Ok(())
}

pub(super) async fn private_message(floor: &Floor, job: &Job) -> anyhow::Result<()> {
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
    let options = SendOptions {
        priority: Priority::Escalation,
        merge: Some((MergeKind::PrivateAlert, MergeItem { subject: incident_id, detail: None })),
        ..SendOptions::default()
    };
    match floor.lane.send(person_id, &text, options).await {
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

pub(super) async fn mention(floor: &Floor, job: &Job) -> anyhow::Result<()> {
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
    let people = Arg::Html(mentions.join(" "));
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
    let options = SendOptions {
        reply_to,
        priority: Priority::Escalation,
        merge: Some((MergeKind::Mention, MergeItem { subject: incident_id, detail: job.payload.clone() })),
        ..SendOptions::default()
    };
    floor.lane.send(chat_id, &text, options).await?;
    incident::record_now(&floor.db, incident_id, now, EventKind::Mentioned, None, Some(&names.join(", "))).await?;
    Ok(())
}

pub(super) async fn notify_reporter(floor: &Floor, job: &Job) -> anyhow::Result<()> {
    let Some(incident_id) = job.incident_id else { return Ok(()) };
    let Some(incident) = incident::get(&floor.db, incident_id).await? else { return Ok(()) };
    let Some(chat_id) = incident.report_chat_id else { return Ok(()) };
    let Some(reporter) = team::person(&floor.db, incident.reporter_id).await? else { return Ok(()) };
    let lang = floor.chat_language(chat_id).await;
    let resolved = job.payload.as_deref() == Some(EventKind::Resolved.as_str());
    let text = if resolved {
        t!(
            floor.i18n,
            lang,
            "notify-resolved",
            reporter = Arg::Html(reporter.mention()),
            number = incident.id,
            person = Arg::Html(team::name_html(&floor.db, incident.resolved_by).await?),
            note = incident.resolution.clone().filter(|note| !note.is_empty()).unwrap_or_else(|| "—".to_owned())
        )
    } else {
        t!(
            floor.i18n,
            lang,
            "notify-acknowledged",
            reporter = Arg::Html(reporter.mention()),
            number = incident.id,
            person = Arg::Html(team::name_html(&floor.db, incident.acknowledged_by).await?)
        )
    };
    let options = SendOptions {
        reply_to: message_id(incident.report_message_id),
        priority: Priority::Reply,
        merge: Some((MergeKind::Notice, MergeItem { subject: incident_id, detail: job.payload.clone() })),
        ..SendOptions::default()
    };
    floor.lane.send(chat_id, &text, options).await?;
    Ok(())
}
