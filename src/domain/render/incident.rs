//! An incident in words: the status block both live messages share, the relay and the team
//! message around it, its buttons, its timeline, and the alerts escalation sends about it.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::{People, ago_text, clock_time, duration_text, seconds_text, shorten};
use crate::domain::calls::CallStatus;
use crate::domain::escalation::{Action, Step, Target};
use crate::domain::incident::{
    Audience, Event, EventKind, Incident, Outcome, POSSIBLY_REPEATED, RELAY_TEXT_LIMIT, RETRY_AT, Stage,
};
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
/// Characters of a description an alert shows.
const ALERT_TEXT_CHARS: usize = 200;

/// "天猫 · 旗舰店", or nothing for an incident without a store.
pub fn store_label(i18n: &I18n, lang: Lang, store: Option<&Store>) -> String {
    store.map(|store| store.label(i18n, lang)).unwrap_or_default()
}

/// Parts joined with " · ", empty parts left out (plain text).
pub fn join_parts(i18n: &I18n, lang: Lang, parts: &[String]) -> String {
    let parts: Vec<&str> = parts.iter().map(String::as_str).filter(|part| !part.is_empty()).collect();
    parts.join(&tp!(i18n, lang, "parts-separator"))
}

/// What and where: "天猫 · 旗舰店 · 价格错误", "天猫 · 旗舰店", or the incident's title when it
/// names neither (plain text).
pub fn what(i18n: &I18n, lang: Lang, view: &IncidentView) -> String {
    let store = store_label(i18n, lang, view.store.as_ref());
    let problem = view.incident.problem(i18n, lang).unwrap_or_default();
    let what = join_parts(i18n, lang, &[store, problem]);
    if what.is_empty() { view.incident.title(i18n, lang) } else { what }
}

/// What the target of a step is called in a sentence (HTML).
pub fn target_label(i18n: &I18n, lang: Lang, people: &People, target: &Target) -> String {
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

/// Where the incident stands, in a few words (plain text).
pub fn state_label(i18n: &I18n, lang: Lang, incident: &Incident) -> String {
    match (incident.stage(), incident.resolved_at, incident.audience()) {
        (Stage::Resolved, Some(resolved_at), _) => tp!(
            i18n,
            lang,
            "incident-state-resolved",
            duration = duration_text(i18n, lang, incident.reported_at, resolved_at)
        ),
        (Stage::Acknowledged | Stage::Resolved, _, _) => tp!(i18n, lang, "incident-state-handling"),
        (Stage::Waiting, _, Audience::Operations) => tp!(i18n, lang, "incident-state-waiting-ops"),
        (Stage::Waiting, _, Audience::Supervisor) => tp!(i18n, lang, "incident-state-waiting-supervisor"),
        (Stage::Waiting, _, Audience::Team) => tp!(i18n, lang, "incident-state-recorded"),
    }
}

/// The status block shared by both live messages (HTML). Lines without a value are left out.
pub fn status(i18n: &I18n, lang: Lang, view: &IncidentView) -> String {
    let incident = &view.incident;
    let people = &view.people;
    let timezone = view.timezone;
    let mut lines = vec![t!(
        i18n,
        lang,
        "incident-status",
        icon = incident.severity.icon(),
        title = incident.title(i18n, lang),
        number = incident.id,
        state = state_label(i18n, lang, incident)
    )];
    if let Some(store) = &view.store {
        lines.push(t!(i18n, lang, "incident-store", store = store.label(i18n, lang)));
    }
    if let Some(problem) = incident.problem(i18n, lang) {
        lines.push(t!(i18n, lang, "incident-kind", kind = problem));
    }
    let description = shorten(&incident.description, RELAY_TEXT_LIMIT);
    let cut = incident.description.chars().count() > RELAY_TEXT_LIMIT;
    if !description.trim().is_empty() {
        lines.push(t!(i18n, lang, "incident-description", text = description));
    }
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
        (_, Some(resolved_at)) => {
            let person = Arg::Html(people.name_html(incident.resolved_by));
            let time = clock_time(resolved_at, timezone);
            lines.push(match incident.resolution.as_deref().filter(|note| !note.trim().is_empty()) {
                Some(note) => t!(i18n, lang, "incident-resolved-by", person = person, time = time, note = note),
                None => t!(i18n, lang, "incident-resolved-by-no-note", person = person, time = time),
            });
        }
        (Some(acknowledged_at), None) => lines.push(t!(
            i18n,
            lang,
            "incident-acknowledged-by",
            person = Arg::Html(people.name_html(incident.acknowledged_by)),
            duration = duration_text(i18n, lang, incident.reported_at, acknowledged_at)
        )),
        (None, None) => {
            let time = clock_time(incident.reported_at, timezone);
            match incident.audience() {
                Audience::Operations => lines.push(t!(i18n, lang, "incident-waiting-ops", time = time)),
                Audience::Supervisor => lines.push(t!(i18n, lang, "incident-waiting-supervisor", time = time)),
                Audience::Team => {}
            }
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
        .map(|event| {
            t!(i18n, lang, "incident-progress-line", line = Arg::Html(event_line(i18n, lang, people, timezone, event)))
        })
        .collect();
    if !progress.is_empty() {
        lines.push(t!(i18n, lang, "incident-progress"));
        lines.extend(progress[progress.len().saturating_sub(PROGRESS_LINES)..].iter().cloned());
    }
    lines.join("\n")
}

/// The team-group message: whether operations has it yet, the guidance for the agent with
/// the customer, what happens if operations does not answer, then the status.
pub fn team_message(i18n: &I18n, lang: Lang, view: &IncidentView) -> String {
    let incident = &view.incident;
    let mut lines = vec![match (incident.ops_message_id, incident.is_open(), view.has_ops_group) {
        (Some(_), _, _) => t!(i18n, lang, "anomaly-relayed", number = incident.id),
        (None, true, true) => t!(i18n, lang, "anomaly-recorded", number = incident.id),
        (None, true, false) => t!(i18n, lang, "anomaly-not-relayed", number = incident.id),
        (None, false, _) => t!(i18n, lang, "anomaly-recorded-only", number = incident.id),
    }];
    lines.push(t!(i18n, lang, "anomaly-guidance"));
    if let (None, Some((due_at, step))) = (incident.acknowledged_at, &view.next_step) {
        lines.push(t!(
            i18n,
            lang,
            "anomaly-if-no-reply",
            duration = duration_text(i18n, lang, incident.reported_at, *due_at),
            actions = actions_label(i18n, lang, &step.actions),
            target = Arg::Html(target_label(i18n, lang, &view.people, &step.target))
        ));
    }
    lines.push(String::new());
    lines.push(status(i18n, lang, view));
    lines.join("\n")
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

/// One timeline entry as a sentence (HTML), with its time, in the reader's language: what an
/// event stores is data (a step number, seconds, ids, a status), never words.
pub fn event_line(i18n: &I18n, lang: Lang, people: &People, timezone: Tz, event: &Event) -> String {
    let actor = Arg::Html(people.name_html(event.actor_id));
    let subject = Arg::Html(people.name_html(event.subject_id));
    let detail = event.detail.as_deref().map(str::trim).unwrap_or_default();
    let time = clock_time(event.at, timezone);
    match event.kind {
        EventKind::Reported => t!(i18n, lang, "event-reported", person = actor, time = time),
        EventKind::Joined => t!(i18n, lang, "event-joined", person = actor, time = time),
        EventKind::Relayed => t!(i18n, lang, "event-relayed", time = time),
        EventKind::RelayFailed => t!(i18n, lang, "event-relay-failed", time = time),
        EventKind::Step => t!(i18n, lang, "event-step", step = detail, time = time),
        EventKind::StepLate => {
            let (step, late) = step_and_rest(detail);
            let late = match late.parse::<i64>() {
                Ok(seconds) => seconds_text(i18n, lang, seconds),
                // Written before the lateness was stored as seconds: the words as they were.
                Err(_) => late.to_owned(),
            };
            t!(i18n, lang, "event-step-late", step = step, late = late, time = time)
        }
        EventKind::StepNobody => {
            let (step, target) = step_and_rest(detail);
            let target = match Target::parse(target) {
                Some(target) => target_label(i18n, lang, people, &target),
                None => crate::html::escape(target),
            };
            t!(i18n, lang, "event-step-nobody", step = step, target = Arg::Html(target), time = time)
        }
        EventKind::PrivateSent => t!(i18n, lang, "event-private-sent", person = subject, time = time),
        EventKind::PrivateFailed => t!(i18n, lang, "event-private-failed", person = subject, time = time),
        EventKind::Mentioned => {
            let names: Vec<String> = match event.mentioned() {
                Some(ids) => ids.into_iter().map(|id| people.name_html(Some(id))).collect(),
                None => vec![crate::html::escape(detail)],
            };
            t!(i18n, lang, "event-mentioned", people = Arg::Html(i18n.list(lang, &names)), time = time)
        }
        EventKind::CallPlaced if detail == POSSIBLY_REPEATED => {
            t!(i18n, lang, "event-call-placed-again", person = subject, time = time)
        }
        EventKind::CallPlaced => t!(i18n, lang, "event-call-placed", person = subject, time = time),
        EventKind::CallAnswered => t!(i18n, lang, "event-call-answered", person = subject, time = time),
        EventKind::CallFailed => {
            let status = call_status_label(i18n, lang, CallStatus::parse(detail));
            t!(i18n, lang, "event-call-failed", person = subject, status = status, time = time)
        }
        EventKind::CallRetry => {
            t!(i18n, lang, "event-call-retry", person = subject, at = stored_time(detail, timezone), time = time)
        }
        EventKind::CallNoNumber => t!(i18n, lang, "event-call-no-number", person = subject, time = time),
        EventKind::CallNoProvider => t!(i18n, lang, "event-call-no-provider", person = subject, time = time),
        EventKind::CallError => match detail.strip_prefix(RETRY_AT) {
            Some(at) => {
                let at = stored_time(at.trim(), timezone);
                t!(i18n, lang, "event-call-unavailable", person = subject, at = at, time = time)
            }
            None => t!(i18n, lang, "event-call-error", person = subject, time = time),
        },
        EventKind::CallCancelled => t!(i18n, lang, "event-call-cancelled", person = subject, time = time),
        EventKind::Acknowledged => t!(i18n, lang, "event-acknowledged", person = actor, time = time),
        EventKind::Resolved if detail.is_empty() => {
            t!(i18n, lang, "event-resolved-no-note", person = actor, time = time)
        }
        EventKind::Resolved => t!(i18n, lang, "event-resolved", person = actor, note = detail, time = time),
    }
}

/// A call's outcome in words ("无人接听"); details the floor does not need stay in the log.
pub fn call_status_label(i18n: &I18n, lang: Lang, status: Option<CallStatus>) -> String {
    match status {
        Some(CallStatus::Busy) => tp!(i18n, lang, "call-status-busy"),
        Some(CallStatus::NoAnswer) => tp!(i18n, lang, "call-status-no-answer"),
        Some(CallStatus::Failed) => tp!(i18n, lang, "call-status-failed"),
        Some(CallStatus::Canceled) => tp!(i18n, lang, "call-status-canceled"),
        _ => tp!(i18n, lang, "call-status-other"),
    }
}

/// A time stored in a detail (RFC 3339) as a local clock time; older entries stored "10:07".
fn stored_time(detail: &str, timezone: Tz) -> String {
    match DateTime::parse_from_rfc3339(detail) {
        Ok(at) => clock_time(at.with_timezone(&Utc), timezone),
        Err(_) => detail.to_owned(),
    }
}

/// "2 185" → ("2", "185"); also reads the older "2: 3 分钟".
fn step_and_rest(detail: &str) -> (&str, &str) {
    let (step, rest) = detail.split_once([' ', ':']).unwrap_or((detail, ""));
    (step, rest.trim_start_matches([':', ' ']))
}

/// `/incident N`: the whole record, with time to acknowledge and to resolve (HTML).
pub fn record(i18n: &I18n, lang: Lang, view: &IncidentView) -> String {
    let incident = &view.incident;
    let mut lines = vec![t!(i18n, lang, "incident-header", number = incident.id, what = what(i18n, lang, view))];
    if !incident.description.trim().is_empty() {
        lines.push(t!(i18n, lang, "incident-description", text = incident.description.as_str()));
    }
    lines.push(String::new());
    lines.extend(view.events.iter().map(|event| event_line(i18n, lang, &view.people, view.timezone, event)));
    lines.push(String::new());
    if let Some(acknowledged_at) = incident.acknowledged_at {
        lines.push(t!(
            i18n,
            lang,
            "incident-time-to-ack",
            duration = duration_text(i18n, lang, incident.reported_at, acknowledged_at)
        ));
    }
    if let Some(resolved_at) = incident.resolved_at {
        lines.push(t!(
            i18n,
            lang,
            "incident-time-to-resolve",
            duration = duration_text(i18n, lang, incident.reported_at, resolved_at)
        ));
    }
    lines.join("\n").trim_end().to_owned()
}

/// `/anomalies`: the open incidents with their age and state (HTML).
pub fn open_list(i18n: &I18n, lang: Lang, open: &[IncidentView], now: DateTime<Utc>) -> String {
    if open.is_empty() {
        return t!(i18n, lang, "anomalies-none");
    }
    let mut lines = vec![t!(i18n, lang, "anomalies-header", count = open.len())];
    for view in open {
        let incident = &view.incident;
        lines.push(t!(
            i18n,
            lang,
            "anomalies-line",
            number = incident.id,
            what = join_parts(i18n, lang, &[incident.title(i18n, lang), what(i18n, lang, view)]),
            ago = ago_text(i18n, lang, incident.reported_at, now),
            state = state_label(i18n, lang, incident)
        ));
    }
    lines.join("\n")
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
    let summary = shorten(&incident.description, ALERT_TEXT_CHARS);
    if incident.audience() == Audience::Operations {
        t!(
            i18n,
            lang,
            "escalation-private",
            title = incident.title(i18n, lang),
            number = incident.id,
            duration = duration_text(i18n, lang, incident.reported_at, now),
            what = what(i18n, lang, view),
            text = summary
        )
    } else {
        t!(
            i18n,
            lang,
            "escalation-private-finding",
            icon = incident.severity.icon(),
            title = incident.title(i18n, lang),
            number = incident.id,
            severity = incident.severity.label(i18n, lang),
            text = summary
        )
    }
}

/// The mention escalation writes in the team group (HTML); `mentions` are the people's
/// mentions, already HTML.
pub fn mention(i18n: &I18n, lang: Lang, view: &IncidentView, mentions: &str, now: DateTime<Utc>) -> String {
    let incident = &view.incident;
    let people = Arg::Html(mentions.to_owned());
    if incident.audience() == Audience::Operations {
        t!(
            i18n,
            lang,
            "escalation-mention",
            people = people,
            title = incident.title(i18n, lang),
            number = incident.id,
            duration = duration_text(i18n, lang, incident.reported_at, now)
        )
    } else {
        t!(
            i18n,
            lang,
            "escalation-mention-finding",
            people = people,
            icon = incident.severity.icon(),
            title = incident.title(i18n, lang),
            number = incident.id,
            severity = incident.severity.label(i18n, lang),
            text = shorten(&incident.description, ALERT_TEXT_CHARS)
        )
    }
}

/// The reporter told that the incident was acknowledged or resolved (HTML).
pub fn notice(i18n: &I18n, lang: Lang, view: &IncidentView, resolved: bool) -> String {
    let incident = &view.incident;
    let reporter = Arg::Html(view.people.mention(incident.reporter_id));
    let number = incident.id;
    if resolved {
        let person = Arg::Html(view.people.name_html(incident.resolved_by));
        match incident.resolution.as_deref().filter(|note| !note.trim().is_empty()) {
            Some(note) => {
                t!(i18n, lang, "notify-resolved", reporter = reporter, number = number, person = person, note = note)
            }
            None => t!(i18n, lang, "notify-resolved-no-note", reporter = reporter, number = number, person = person),
        }
    } else {
        t!(
            i18n,
            lang,
            "notify-acknowledged",
            reporter = reporter,
            number = number,
            person = Arg::Html(view.people.name_html(incident.acknowledged_by))
        )
    }
}
