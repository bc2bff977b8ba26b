//! An incident in words: the status block both live messages share, the relay and the team
//! message around it, its buttons, its timeline, and the alerts escalation sends about it.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::{People, clock_time, duration_text, shorten};
use crate::domain::escalation::{Action, Step, Target};
use crate::domain::incident::{Event, EventKind, Incident, Outcome, RELAY_TEXT_LIMIT, Stage};
use crate::domain::outbound::{Button, ButtonAction, Keyboard};
use crate::domain::store::Store;
use crate::i18n::{Arg, I18n, Lang};
use crate::{t, tp};

/// Everything an incident's messages show, loaded beforehand.
#[derive(Clone, Debug)]
pub struct IncidentView {
    pub incident: Incident,
    pub team_name: String,
    pub store: Option<Store>,
    /// The timeline, oldest first.
    pub events: Vec<Event>,
    /// Everyone the incident, its timeline and its next step name.
    pub people: People,
    /// The next escalation step still pending: when it is due, and what it does.
    pub next_step: Option<(DateTime<Utc>, Step)>,
    /// Whether a cross-department group is bound.
    pub has_ops_group: bool,
    pub timezone: Tz,
}

/// Progress lines a live message keeps (the newest).
const PROGRESS_LINES: usize = 6;

/// "天猫 · 旗舰店", or nothing for an incident without a store.
pub fn store_label(i18n: &I18n, lang: Lang, store: Option<&Store>) -> String {
    store.map(|store| store.label(i18n, lang)).unwrap_or_default()
}

/// What the target of a step is called in a sentence (HTML).
fn target_label(i18n: &I18n, lang: Lang, people: &People, target: &Target) -> String {
    match target {
        Target::Duty => t!(i18n, lang, "target-duty"),
        Target::Backup => t!(i18n, lang, "target-backup"),
        Target::Role(role) => t!(i18n, lang, "target-role", role = role.label(i18n, lang)),
        Target::User(id) => people.name_html(Some(*id)),
    }
}

fn actions_label(i18n: &I18n, lang: Lang, actions: &[Action]) -> String {
    let labels: Vec<String> = actions
        .iter()
        .map(|action| match action {
            Action::Call => tp!(i18n, lang, "action-call"),
            Action::Private => tp!(i18n, lang, "action-private"),
            Action::Mention => tp!(i18n, lang, "action-mention"),
        })
        .collect();
    i18n.list(lang, &labels)
}

/// The status block shared by both live messages (HTML).
pub fn status(i18n: &I18n, lang: Lang, view: &IncidentView) -> String {
    let incident = &view.incident;
    let people = &view.people;
    let timezone = view.timezone;
    let mut lines = Vec::new();
    let status = match (incident.stage(), incident.resolved_at) {
        (Stage::Resolved, Some(resolved_at)) => {
            t!(i18n, lang, "incident-status-resolved", number = incident.id)
                + &t!(
                    i18n,
                    lang,
                    "incident-took",
                    duration = duration_text(i18n, lang, incident.reported_at, resolved_at)
                )
        }
        (Stage::Acknowledged, _) => t!(i18n, lang, "incident-status-acknowledged", number = incident.id),
        _ => t!(i18n, lang, "incident-status-open", number = incident.id),
    };
    lines.push(format!("{} {status}", incident.severity.icon()));
    lines.push(t!(i18n, lang, "incident-store", store = store_label(i18n, lang, view.store.as_ref())));
    lines.push(t!(i18n, lang, "incident-kind", kind = incident.kind_label(i18n, lang)));
    let description = shorten(&incident.description, RELAY_TEXT_LIMIT);
    let cut = incident.description.chars().count() > RELAY_TEXT_LIMIT;
    lines.push(t!(i18n, lang, "incident-description", text = description));
    if cut {
        lines.push(t!(i18n, lang, "incident-full-text", number = incident.id));
    }
    lines.push(t!(
        i18n,
        lang,
        "incident-reporter",
        person = Arg::Html(people.name_html(Some(incident.reporter_id))),
        time = clock_time(incident.reported_at, timezone)
    ));
    for event in view.events.iter().filter(|event| event.kind == EventKind::Joined) {
        lines.push(t!(
            i18n,
            lang,
            "incident-joined",
            person = Arg::Html(people.name_html(event.actor_id)),
            time = clock_time(event.at, timezone)
        ));
    }
    match (incident.acknowledged_at, incident.resolved_at) {
        (_, Some(resolved_at)) => lines.push(t!(
            i18n,
            lang,
            "incident-resolved-by",
            person = Arg::Html(people.name_html(incident.resolved_by)),
            time = clock_time(resolved_at, timezone),
            note = incident.resolution.clone().filter(|note| !note.is_empty()).unwrap_or_else(|| "—".to_owned())
        )),
        (Some(acknowledged_at), None) => lines.push(t!(
            i18n,
            lang,
            "incident-acknowledged-by",
            person = Arg::Html(people.name_html(incident.acknowledged_by)),
            duration = duration_text(i18n, lang, incident.reported_at, acknowledged_at)
        )),
        (None, None) => {
            lines.push(t!(i18n, lang, "incident-waiting", time = clock_time(incident.reported_at, timezone)));
            if let Some((due_at, step)) = &view.next_step {
                lines.push(t!(
                    i18n,
                    lang,
                    "incident-next-step",
                    time = clock_time(*due_at, timezone),
                    actions = actions_label(i18n, lang, &step.actions),
                    target = Arg::Html(target_label(i18n, lang, people, &step.target))
                ));
            }
        }
    }
    let progress: Vec<String> = view
        .events
        .iter()
        .filter(|event| event.kind.is_progress())
        .map(|event| format!("• {}", event_line(i18n, lang, people, timezone, event)))
        .collect();
    if !progress.is_empty() {
        lines.push(t!(i18n, lang, "incident-progress"));
        lines.extend(progress[progress.len().saturating_sub(PROGRESS_LINES)..].iter().cloned());
    }
    lines.join("\n")
}

/// The team-group message: the guidance for the agent facing the customer, then the status.
pub fn team_message(i18n: &I18n, lang: Lang, view: &IncidentView) -> String {
    let incident = &view.incident;
    let mut text = t!(i18n, lang, "anomaly-guidance", number = incident.id);
    if incident.ops_message_id.is_none() && incident.resolved_at.is_none() && !view.has_ops_group {
        text.push('\n');
        text.push_str(&t!(i18n, lang, "anomaly-no-ops-group"));
    }
    text.push_str("\n\n");
    text.push_str(&status(i18n, lang, view));
    text
}

/// The relay in the cross-department group.
pub fn relay(i18n: &I18n, lang: Lang, view: &IncidentView) -> String {
    let mut text = if view.incident.is_store_anomaly() {
        t!(i18n, lang, "relay-header", team = view.team_name.as_str())
    } else {
        t!(i18n, lang, "relay-header-patrol", team = view.team_name.as_str())
    };
    text.push('\n');
    text.push_str(&status(i18n, lang, view));
    text
}

/// The keyboard of a live message: Acknowledge until acknowledged, Resolved until resolved.
pub fn keyboard(i18n: &I18n, lang: Lang, incident: &Incident) -> Option<Keyboard> {
    if !incident.is_open() {
        return None;
    }
    let mut row = Vec::new();
    if incident.acknowledged_at.is_none() {
        row.push(Button::new(tp!(i18n, lang, "button-acknowledge"), ButtonAction::Acknowledge(incident.id)));
    }
    row.push(Button::new(tp!(i18n, lang, "button-resolve"), ButtonAction::Resolve(incident.id)));
    Some(Keyboard::new(vec![row]))
}

/// One timeline entry as a sentence (HTML), with its time.
pub fn event_line(i18n: &I18n, lang: Lang, people: &People, timezone: Tz, event: &Event) -> String {
    let actor = Arg::Html(people.name_html(event.actor_id));
    let subject = Arg::Html(people.name_html(event.subject_id));
    let detail = event.detail.clone().filter(|detail| !detail.is_empty()).unwrap_or_else(|| "—".to_owned());
    let time = clock_time(event.at, timezone);
    match event.kind {
        EventKind::Reported => t!(i18n, lang, "event-reported", person = actor, time = time),
        EventKind::Joined => t!(i18n, lang, "event-joined", person = actor, time = time),
        EventKind::Relayed => t!(i18n, lang, "event-relayed", time = time),
        EventKind::RelayFailed => t!(i18n, lang, "event-relay-failed", time = time),
        EventKind::Step => t!(i18n, lang, "event-step", step = detail, time = time),
        EventKind::StepLate => t!(i18n, lang, "event-step-late", detail = detail, time = time),
        EventKind::StepNobody => t!(i18n, lang, "event-step-nobody", detail = detail, time = time),
        EventKind::PrivateSent => t!(i18n, lang, "event-private-sent", person = subject, time = time),
        EventKind::PrivateFailed => t!(i18n, lang, "event-private-failed", person = subject, time = time),
        EventKind::Mentioned => t!(i18n, lang, "event-mentioned", people = detail, time = time),
        EventKind::CallPlaced if detail == "possibly-repeated" => {
            t!(i18n, lang, "event-call-placed-again", person = subject, time = time)
        }
        EventKind::CallPlaced => t!(i18n, lang, "event-call-placed", person = subject, time = time),
        EventKind::CallAnswered => t!(i18n, lang, "event-call-answered", person = subject, time = time),
        EventKind::CallFailed => t!(i18n, lang, "event-call-failed", person = subject, status = detail, time = time),
        EventKind::CallRetry => t!(i18n, lang, "event-call-retry", person = subject, detail = detail, time = time),
        EventKind::CallNoNumber => t!(i18n, lang, "event-call-no-number", person = subject, time = time),
        EventKind::CallNoProvider => t!(i18n, lang, "event-call-no-provider", person = subject, time = time),
        EventKind::CallError => t!(i18n, lang, "event-call-error", person = subject, detail = detail, time = time),
        EventKind::CallCancelled => t!(i18n, lang, "event-call-cancelled", person = subject, time = time),
        EventKind::Acknowledged => t!(i18n, lang, "event-acknowledged", person = actor, time = time),
        EventKind::Resolved => t!(i18n, lang, "event-resolved", person = actor, note = detail, time = time),
    }
}

/// `/incident N`: the whole record, with time to acknowledge and to resolve (HTML).
pub fn record(i18n: &I18n, lang: Lang, view: &IncidentView) -> String {
    let incident = &view.incident;
    let mut text = t!(
        i18n,
        lang,
        "incident-header",
        number = incident.id,
        kind = incident.kind_label(i18n, lang),
        store = store_label(i18n, lang, view.store.as_ref())
    );
    text.push('\n');
    text.push_str(&t!(i18n, lang, "incident-description", text = incident.description.as_str()));
    text.push('\n');
    for event in &view.events {
        text.push('\n');
        text.push_str(&event_line(i18n, lang, &view.people, view.timezone, event));
    }
    text.push('\n');
    if let Some(acknowledged_at) = incident.acknowledged_at {
        text.push_str(&t!(
            i18n,
            lang,
            "incident-time-to-ack",
            duration = duration_text(i18n, lang, incident.reported_at, acknowledged_at)
        ));
        text.push('\n');
    }
    if let Some(resolved_at) = incident.resolved_at {
        text.push_str(&t!(
            i18n,
            lang,
            "incident-time-to-resolve",
            duration = duration_text(i18n, lang, incident.reported_at, resolved_at)
        ));
    }
    text.trim_end().to_owned()
}

/// `/anomalies`: the open incidents with their age and state (HTML).
pub fn open_list(i18n: &I18n, lang: Lang, open: &[(Incident, Option<Store>)], now: DateTime<Utc>) -> String {
    if open.is_empty() {
        return t!(i18n, lang, "anomalies-none");
    }
    let mut text = t!(i18n, lang, "anomalies-header", count = open.len());
    for (incident, store) in open {
        let state = if incident.acknowledged_at.is_some() {
            tp!(i18n, lang, "state-acknowledged")
        } else {
            tp!(i18n, lang, "state-waiting")
        };
        text.push('\n');
        text.push_str(&t!(
            i18n,
            lang,
            "anomalies-line",
            number = incident.id,
            store = store_label(i18n, lang, store.as_ref()),
            kind = incident.kind_label(i18n, lang),
            age = duration_text(i18n, lang, incident.reported_at, now),
            state = state
        ));
    }
    text
}

/// What an acknowledgement or resolution came to, as plain text (a reply or a popup).
pub fn outcome(i18n: &I18n, lang: Lang, number: i64, outcome: Outcome, acknowledging: bool) -> String {
    match (outcome, acknowledging) {
        (Outcome::Done, true) => tp!(i18n, lang, "ack-done", number = number),
        (Outcome::Done, false) => tp!(i18n, lang, "resolve-done", number = number),
        (Outcome::AlreadyDone, true) => tp!(i18n, lang, "ack-already", number = number),
        (Outcome::AlreadyDone, false) => tp!(i18n, lang, "resolve-already", number = number),
        (Outcome::NotFound, _) => tp!(i18n, lang, "incident-not-found", number = number),
    }
}

/// The private message escalation sends to someone about an incident (HTML).
pub fn private_alert(i18n: &I18n, lang: Lang, view: &IncidentView, now: DateTime<Utc>) -> String {
    let incident = &view.incident;
    let summary: String = incident.description.chars().take(200).collect();
    if incident.is_store_anomaly() {
        t!(
            i18n,
            lang,
            "escalation-private",
            number = incident.id,
            store = store_label(i18n, lang, view.store.as_ref()),
            kind = incident.kind_label(i18n, lang),
            minutes = (now - incident.reported_at).num_minutes(),
            text = summary
        )
    } else {
        t!(
            i18n,
            lang,
            "patrol-issue-private",
            number = incident.id,
            severity = incident.severity.icon(),
            kind = incident.kind_label(i18n, lang),
            text = summary
        )
    }
}

/// The mention escalation writes in the team group (HTML); `mentions` are the people's
/// mentions, already HTML.
pub fn mention(i18n: &I18n, lang: Lang, view: &IncidentView, mentions: &str, now: DateTime<Utc>) -> String {
    let incident = &view.incident;
    let people = Arg::Html(mentions.to_owned());
    if incident.is_store_anomaly() {
        t!(
            i18n,
            lang,
            "escalation-mention",
            people = people,
            number = incident.id,
            minutes = (now - incident.reported_at).num_minutes()
        )
    } else {
        t!(
            i18n,
            lang,
            "patrol-issue-mention",
            people = people,
            number = incident.id,
            severity = incident.severity.icon(),
            kind = incident.kind_label(i18n, lang),
            text = incident.description.chars().take(200).collect::<String>()
        )
    }
}

/// The reporter told that the incident was acknowledged or resolved (HTML).
pub fn notice(i18n: &I18n, lang: Lang, view: &IncidentView, resolved: bool) -> String {
    let incident = &view.incident;
    let reporter = Arg::Html(view.people.mention(incident.reporter_id));
    if resolved {
        t!(
            i18n,
            lang,
            "notify-resolved",
            reporter = reporter,
            number = incident.id,
            person = Arg::Html(view.people.name_html(incident.resolved_by)),
            note = incident.resolution.clone().filter(|note| !note.is_empty()).unwrap_or_else(|| "—".to_owned())
        )
    } else {
        t!(
            i18n,
            lang,
            "notify-acknowledged",
            reporter = reporter,
            number = incident.id,
            person = Arg::Html(view.people.name_html(incident.acknowledged_by))
        )
    }
}
