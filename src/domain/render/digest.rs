//! Digests: what a burst of relays, confirmations, mentions, private alerts or notices
//! becomes when it queues for one chat faster than Telegram lets floorbot send.
//!
//! A relay or confirmation digest is a live message like the single relay it replaces: one
//! line per report (number, store, kind, the first 60 characters, the reporter, its state)
//! and a button per open report, redrawn as each is acknowledged or resolved. The same
//! renderer draws it when it is sent and whenever an incident on it changes, so the two agree
//! and an unchanged digest is never edited.

use super::incident::{IncidentView, join_parts, store_label};
use super::{People, clock_time, shorten};
use crate::domain::incident::EventKind;
use crate::domain::outbound::{Button, ButtonAction, Keyboard, MergeItem, MergeKind};
use crate::i18n::{Arg, I18n, Lang};
use crate::{t, tp};

/// Characters of a description a digest line shows.
const LINE_TEXT_CHARS: usize = 60;
/// Characters of a name a digest line shows.
const LINE_NAME_CHARS: usize = 20;
/// Buttons per keyboard row.
const BUTTONS_PER_ROW: usize = 3;

/// A digest as drawn: its text and keyboard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Digest {
    pub html: String,
    pub keyboard: Option<Keyboard>,
}

/// "team · store · kind", "team · store", or "team · title" (plain text).
fn what(i18n: &I18n, lang: Lang, view: &IncidentView) -> String {
    let team = shorten(&view.team_name, LINE_NAME_CHARS);
    let store = shorten(&store_label(i18n, lang, view.store.as_ref()), 2 * LINE_NAME_CHARS);
    let problem = view.incident.problem(i18n, lang).unwrap_or_default();
    let what = join_parts(i18n, lang, &[store, problem]);
    let what = if what.is_empty() { view.incident.title(i18n, lang) } else { what };
    join_parts(i18n, lang, &[team, what])
}

fn short_name(people: &People, person: Option<i64>) -> String {
    person.map(|id| shorten(&people.display_name(id), LINE_NAME_CHARS)).unwrap_or_default()
}

/// The digest for `views` (sorted by incident number) of `kind`; `items` carry what each
/// merged message added (the people a mention names, whether a notice is for a resolution),
/// and `mentioned` holds the people mentions name.
pub fn render(
    i18n: &I18n,
    lang: Lang,
    kind: MergeKind,
    views: &[IncidentView],
    items: &[MergeItem],
    mentioned: &People,
) -> Digest {
    match kind {
        MergeKind::Relay | MergeKind::Confirmation => board(i18n, lang, kind, views),
        MergeKind::Mention => mention(i18n, lang, views, items, mentioned),
        MergeKind::PrivateAlert => private_alert(i18n, lang, views),
        MergeKind::Notice => notices(i18n, lang, views, items),
    }
}

/// The relay or confirmation digest: one line per report and a button per open one.
pub fn board(i18n: &I18n, lang: Lang, kind: MergeKind, views: &[IncidentView]) -> Digest {
    let mut lines = vec![match kind {
        MergeKind::Confirmation => t!(i18n, lang, "digest-team-header", count = views.len()),
        _ => t!(i18n, lang, "digest-relay-header", count = views.len()),
    }];
    let mut buttons = Vec::new();
    for view in views {
        let incident = &view.incident;
        let state = if incident.resolved_at.is_some() {
            tp!(i18n, lang, "digest-state-resolved", person = short_name(&view.people, incident.resolved_by))
        } else if incident.acknowledged_at.is_some() {
            tp!(i18n, lang, "digest-state-acknowledged", person = short_name(&view.people, incident.acknowledged_by))
        } else {
            tp!(i18n, lang, "digest-state-waiting")
        };
        lines.push(t!(
            i18n,
            lang,
            "digest-line",
            icon = incident.severity.icon(),
            number = incident.id,
            what = what(i18n, lang, view),
            text = shorten(&incident.description, LINE_TEXT_CHARS),
            person = short_name(&view.people, Some(incident.reporter_id)),
            time = clock_time(incident.reported_at, view.timezone),
            state = state
        ));
        if incident.acknowledged_at.is_none() {
            buttons.push(Button::new(
                tp!(i18n, lang, "digest-button-acknowledge", number = incident.id),
                ButtonAction::Acknowledge(incident.id),
            ));
        } else if incident.resolved_at.is_none() {
            buttons.push(Button::new(
                tp!(i18n, lang, "digest-button-resolve", number = incident.id),
                ButtonAction::Resolve(incident.id),
            ));
        }
    }
    Digest { html: lines.join("\n"), keyboard: Keyboard::grid(buttons, BUTTONS_PER_ROW).non_empty() }
}

/// The people a merged mention names, in order, each once.
pub fn mentioned_people(items: &[MergeItem]) -> Vec<i64> {
    let mut people: Vec<i64> = Vec::new();
    for item in items {
        for id in item.detail.as_deref().unwrap_or_default().split(',').filter_map(|id| id.parse::<i64>().ok()) {
            if !people.contains(&id) {
                people.push(id);
            }
        }
    }
    people
}

fn mention(i18n: &I18n, lang: Lang, views: &[IncidentView], items: &[MergeItem], names: &People) -> Digest {
    let mentions: Vec<String> = mentioned_people(items).iter().map(|id| names.mention(*id)).collect();
    let mut lines = vec![t!(i18n, lang, "digest-mention", people = Arg::Html(i18n.list(lang, &mentions)))];
    for view in views {
        lines.push(t!(
            i18n,
            lang,
            "digest-mention-line",
            number = view.incident.id,
            what = what(i18n, lang, view),
            time = clock_time(view.incident.reported_at, view.timezone)
        ));
    }
    Digest { html: lines.join("\n"), keyboard: None }
}

fn private_alert(i18n: &I18n, lang: Lang, views: &[IncidentView]) -> Digest {
    let mut lines = vec![t!(i18n, lang, "digest-private-header", count = views.len())];
    for view in views {
        lines.push(t!(
            i18n,
            lang,
            "digest-private-line",
            number = view.incident.id,
            what = what(i18n, lang, view),
            text = shorten(&view.incident.description, LINE_TEXT_CHARS),
            time = clock_time(view.incident.reported_at, view.timezone)
        ));
    }
    Digest { html: lines.join("\n"), keyboard: None }
}

fn notices(i18n: &I18n, lang: Lang, views: &[IncidentView], items: &[MergeItem]) -> Digest {
    let lines: Vec<String> = views
        .iter()
        .map(|view| {
            let incident = &view.incident;
            let reporter = Arg::Html(view.people.mention(incident.reporter_id));
            let resolved = items.iter().any(|item| {
                item.subject == incident.id && item.detail.as_deref() == Some(EventKind::Resolved.as_str())
            });
            if resolved {
                t!(
                    i18n,
                    lang,
                    "digest-notice-resolved",
                    reporter = reporter,
                    number = incident.id,
                    person = Arg::Html(view.people.name_html(incident.resolved_by))
                )
            } else {
                t!(
                    i18n,
                    lang,
                    "digest-notice-acknowledged",
                    reporter = reporter,
                    number = incident.id,
                    person = Arg::Html(view.people.name_html(incident.acknowledged_by))
                )
            }
        })
        .collect();
    Digest { html: lines.join("\n"), keyboard: None }
}
