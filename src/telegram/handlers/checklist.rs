//! Working through the checklist: the ✅ / ⚠ / N/A / offline buttons, the prompt for an N/A
//! reason or an issue's note (answered as a reply, by the person who pressed), and the
//! severity of a finding.

use super::{Answer, Press};
use crate::db::{patrols, people};
use crate::domain::incident::{IncidentKind, Severity};
use crate::domain::outbound::{Outgoing, PatrolTick};
use crate::domain::patrol::{AnswerKind, ItemState};
use crate::domain::render::patrol as render;
use crate::domain::team::Role;
use crate::i18n::Lang;
use crate::jobs::message_id;
use crate::jobs::patrol::{check_completion, file_finding};
use crate::telegram::context::Floor;
use crate::tp;

/// How long someone has to type an N/A reason or an issue's note.
const ANSWER_MINUTES: i64 = 10;

/// A press of a checklist button.
pub async fn tick(press: &Press<'_>, item_id: i64, tick: PatrolTick) -> anyhow::Result<Answer> {
    let (floor, lang) = (press.floor, press.lang);
    let i18n = &floor.i18n;
    if !press.roles.any_of(&[Role::Agent, Role::Lead, Role::Supervisor]) {
        return Ok((tp!(i18n, lang, "patrol-team-only"), true));
    }
    let Some(item) = patrols::item(&floor.db, item_id).await? else { return Ok((String::new(), false)) };
    let Some(patrol) = patrols::get(&floor.db, item.patrol_id).await? else { return Ok((String::new(), false)) };
    if patrol.chat_id != press.chat_id {
        return Ok((String::new(), false));
    }
    if item.state != ItemState::Open {
        return Ok((tp!(i18n, lang, "patrol-already-ticked"), false));
    }
    let now = floor.now();
    match tick {
        PatrolTick::Ok => {
            patrols::tick(&floor.db, item.id, ItemState::Ok, press.user_id, None, None, now).await?;
        }
        PatrolTick::Offline => {
            let store = match item.store_id {
                Some(id) => crate::db::stores::by_id(&floor.db, id).await?,
                None => None,
            };
            let description = store.map(|store| store.label(i18n, lang)).unwrap_or_default();
            let incident = file_finding(
                floor,
                &patrol,
                &item,
                IncidentKind::AccountOffline,
                Severity::Yellow,
                &description,
                press.user_id,
            )
            .await?;
            patrols::tick(&floor.db, item.id, ItemState::Offline, press.user_id, None, Some(incident), now).await?;
        }
        PatrolTick::NotApplicable | PatrolTick::Issue => {
            let kind = if tick == PatrolTick::Issue { AnswerKind::Issue } else { AnswerKind::Na };
            let mention = people::person(&floor.db, press.user_id).await?.map(|person| person.mention());
            let text = render::ask_answer(i18n, lang, &mention.unwrap_or_default(), &item, kind == AnswerKind::Issue);
            let expires_at = now + chrono::Duration::minutes(ANSWER_MINUTES);
            patrols::start_answer(&floor.db, press.chat_id, press.user_id, item.id, kind, expires_at).await?;
            let message = Outgoing::new(text).replying_to(message_id(patrol.message_id)).asking_for_reply();
            let sent = floor.lane.send(press.chat_id, message).await?;
            if let Some(prompt) = sent.last() {
                patrols::set_answer_prompt(&floor.db, press.chat_id, press.user_id, prompt.message_id, None).await?;
            }
            return Ok((String::new(), false));
        }
    }
    floor.runner.wake();
    check_completion(floor, patrol.id, press.user_id).await?;
    Ok((tp!(i18n, lang, "patrol-ticked"), false))
}

/// A press of a severity button after an issue's note: the finding is filed and routed.
pub async fn severity_chosen(press: &Press<'_>, item_id: i64, severity: Severity) -> anyhow::Result<Answer> {
    let (floor, lang, chat_id) = (press.floor, press.lang, press.chat_id);
    let i18n = &floor.i18n;
    let answer = patrols::answer(&floor.db, chat_id, press.user_id).await?;
    let Some(answer) = answer.filter(|answer| {
        answer.item_id == item_id
            && answer.kind == AnswerKind::Issue
            && answer.note.is_some()
            && answer.prompt_message_id == Some(i64::from(press.message_id))
    }) else {
        return Ok((tp!(i18n, lang, "form-not-yours"), true));
    };
    let note = answer.note.unwrap_or_default();
    let Some(item) = patrols::item(&floor.db, item_id).await? else { return Ok((String::new(), false)) };
    let Some(patrol) = patrols::get(&floor.db, item.patrol_id).await? else { return Ok((String::new(), false)) };
    patrols::forget_answer(&floor.db, chat_id, press.user_id).await?;
    if item.state != ItemState::Open {
        return Ok((tp!(i18n, lang, "patrol-already-ticked"), false));
    }
    let description = render::finding_description(i18n, lang, &item, &note);
    let incident =
        file_finding(floor, &patrol, &item, IncidentKind::PatrolIssue, severity, &description, press.user_id).await?;
    let now = floor.now();
    patrols::tick(&floor.db, item.id, ItemState::Issue, press.user_id, Some(&note), Some(incident), now).await?;
    floor.runner.wake();
    let chosen = render::finding_recorded(i18n, lang, incident, severity);
    floor.lane.edit(chat_id, press.message_id, &chosen, None).await.ok();
    check_completion(floor, patrol.id, press.user_id).await?;
    Ok((String::new(), false))
}

/// A reply to one of the patrol's prompts: an N/A reason, or an issue's note (then the
/// severity is asked with buttons). Returns whether the message was consumed.
pub async fn answer_reply(
    floor: &Floor,
    chat_id: i64,
    user_id: i64,
    lang: Lang,
    replied_to: i32,
    text: &str,
) -> anyhow::Result<bool> {
    let i18n = &floor.i18n;
    let Some(answer) = patrols::answer(&floor.db, chat_id, user_id).await? else { return Ok(false) };
    // Only the person who pressed the button, replying to their own prompt, answers it.
    if answer.prompt_message_id != Some(i64::from(replied_to)) || answer.expires_at <= floor.now() {
        return Ok(false);
    }
    let note = text.trim();
    if note.is_empty() {
        return Ok(false);
    }
    let note: String = note.chars().take(500).collect();
    if answer.kind == AnswerKind::Na {
        patrols::forget_answer(&floor.db, chat_id, user_id).await?;
        let now = floor.now();
        patrols::tick(&floor.db, answer.item_id, ItemState::Na, user_id, Some(&note), None, now).await?;
        floor.runner.wake();
        if let Some(item) = patrols::item(&floor.db, answer.item_id).await? {
            check_completion(floor, item.patrol_id, user_id).await?;
        }
        return Ok(true);
    }
    let (text, keyboard) = render::ask_severity(i18n, lang, answer.item_id);
    let message = Outgoing::new(text).replying_to(Some(replied_to)).with_keyboard(Some(keyboard));
    let sent = floor.lane.send(chat_id, message).await?;
    if let Some(prompt) = sent.last() {
        patrols::set_answer_prompt(&floor.db, chat_id, user_id, prompt.message_id, Some(&note)).await?;
    }
    Ok(true)
}
