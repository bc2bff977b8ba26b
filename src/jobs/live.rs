//! Live messages of incidents: each is redrawn from what is stored and handed to the
//! messenger, which edits it only when the drawing changed. A message carrying several
//! incidents is a digest and is drawn as one.

use super::Deps;
use crate::db;
use crate::domain::incident::Incident;
use crate::domain::outbound::{Keyboard, MergeKind};
use crate::domain::render::digest;
use crate::domain::render::incident::{self as render, IncidentView};

/// Loads what an incident's messages show, as one moment's state (the incident read again
/// with the rest).
pub async fn view(deps: &Deps, incident: Incident) -> sqlx::Result<IncidentView> {
    let settings = deps.team_settings_by_name();
    let mut views = db::views::of_incidents(&deps.db, &[incident.id], &settings).await?;
    views.pop().ok_or(sqlx::Error::RowNotFound)
}

/// Draws what the message `message_id` in `chat_id` should show: the incidents on it, as a
/// single relay or team message, or as a digest. None when no incident is on it.
pub async fn draw(
    deps: &Deps,
    chat_id: i64,
    message_id: i64,
    relay: bool,
) -> anyhow::Result<Option<(String, Option<Keyboard>)>> {
    let lang = deps.chat_language(chat_id).await;
    let settings = deps.team_settings_by_name();
    let mut views = db::views::on_message(&deps.db, chat_id, message_id, relay, &settings).await?;
    Ok(match views.len() {
        0 => None,
        1 => {
            let view = views.remove(0);
            let html = if relay {
                render::relay(&deps.i18n, lang, &view)
            } else {
                render::team_message(&deps.i18n, lang, &view)
            };
            Some((html, render::keyboard(&deps.i18n, lang, &view.incident)))
        }
        _ => {
            let kind = if relay { MergeKind::Relay } else { MergeKind::Confirmation };
            let board = digest::board(&deps.i18n, lang, kind, &views);
            Some((board.html, board.keyboard))
        }
    })
}

/// Submits the current drawing of an incident's live messages. `urgent` after an
/// acknowledgement or resolution.
pub async fn refresh_incident(deps: &Deps, incident_id: i64, urgent: bool) -> anyhow::Result<()> {
    let Some(incident) = db::incidents::get(&deps.db, incident_id).await? else { return Ok(()) };
    let places = [
        (incident.team_chat_id.filter(|_| incident.is_store_anomaly()), incident.team_message_id, false),
        (incident.ops_chat_id, incident.ops_message_id, true),
    ];
    for (chat_id, message_id, relay) in places {
        let (Some(chat_id), Some(message_id)) = (chat_id, message_id) else { continue };
        let Some((html, keyboard)) = draw(deps, chat_id, message_id, relay).await? else { continue };
        let message_id = i32::try_from(message_id).unwrap_or_default();
        deps.messenger.refresh(chat_id, message_id, html, keyboard, urgent).await?;
    }
    Ok(())
}
