//! `/ack`, `/resolve`, `/incident`, `/anomalies` and the Acknowledge / Resolved buttons.

use super::{Answer, Press, usage};
use crate::db::incidents;
use crate::domain::incident::{Outcome, RESPONDERS, parse_number};
use crate::domain::outbound::ButtonAction;
use crate::domain::render::incident as render;
use crate::html::escape;
use crate::jobs::live::view;
use crate::t;
use crate::telegram::command::CommandName;
use crate::telegram::context::Request;

async fn answer_outcome(
    request: &Request<'_>,
    number: i64,
    outcome: Outcome,
    acknowledging: bool,
) -> anyhow::Result<()> {
    if outcome == Outcome::Done {
        request.floor.runner.wake();
    }
    let text = render::outcome(request.i18n(), request.lang, number, outcome, acknowledging);
    request.reply(&escape(&text)).await?;
    Ok(())
}

/// `/ack N`.
pub async fn ack_command(request: &Request<'_>, args: &str) -> anyhow::Result<()> {
    let Some(number) = parse_number(args) else {
        request.reply(&usage(request, CommandName::Ack)).await?;
        return Ok(());
    };
    let outcome = incidents::acknowledge(request.db(), number, request.caller.user_id, request.now()).await?;
    answer_outcome(request, number, outcome, true).await
}

/// `/resolve N <note>`.
pub async fn resolve_command(request: &Request<'_>, args: &str) -> anyhow::Result<()> {
    let (number_text, note) = match args.split_once(char::is_whitespace) {
        Some((number, note)) => (number, Some(note.trim()).filter(|note| !note.is_empty())),
        None => (args, None),
    };
    let Some(number) = parse_number(number_text) else {
        request.reply(&usage(request, CommandName::Resolve)).await?;
        return Ok(());
    };
    let outcome = incidents::resolve(request.db(), number, request.caller.user_id, note, request.now()).await?;
    answer_outcome(request, number, outcome, false).await
}

/// A press of Acknowledge or Resolved. Returns the popup text.
pub async fn button(press: &Press<'_>, action: ButtonAction) -> anyhow::Result<Answer> {
    let (floor, lang) = (press.floor, press.lang);
    if !press.roles.any_of(RESPONDERS) {
        return Ok((crate::tp!(floor.i18n, lang, "button-only-responders"), true));
    }
    let now = floor.now();
    let (outcome, number, acknowledging) = match action {
        ButtonAction::Acknowledge(id) => (incidents::acknowledge(&floor.db, id, press.user_id, now).await?, id, true),
        ButtonAction::Resolve(id) => (incidents::resolve(&floor.db, id, press.user_id, None, now).await?, id, false),
        _ => return Ok((String::new(), false)),
    };
    if outcome == Outcome::Done {
        floor.runner.wake();
    }
    Ok((render::outcome(&floor.i18n, lang, number, outcome, acknowledging), false))
}

/// `/incident N`: the whole timeline, with time to acknowledge and to resolve.
pub async fn show(request: &Request<'_>, args: &str) -> anyhow::Result<()> {
    let (lang, i18n) = (request.lang, request.i18n());
    let Some(number) = parse_number(args) else {
        request.reply(&usage(request, CommandName::Incident)).await?;
        return Ok(());
    };
    let Some(incident) = incidents::get(request.db(), number).await? else {
        request.reply(&t!(i18n, lang, "incident-not-found", number = number)).await?;
        return Ok(());
    };
    let view = view(request.floor, incident).await?;
    request.reply(&render::record(i18n, lang, &view)).await?;
    Ok(())
}

/// `/anomalies`: open incidents with age and state.
pub async fn list_open(request: &Request<'_>) -> anyhow::Result<()> {
    let ids: Vec<i64> = incidents::open(request.db()).await?.iter().map(|incident| incident.id).collect();
    let open = crate::db::views::of_incidents(request.db(), &ids, &request.floor.team_settings_by_name()).await?;
    request.reply(&render::open_list(request.i18n(), request.lang, &open, request.now())).await?;
    Ok(())
}
