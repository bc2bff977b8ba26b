//! The morning patrol in words: the live checklist and its buttons, the prompts for a reason
//! or a note, the reminder, the late notice, the summary, and the history.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate, Utc};
use chrono_tz::Tz;

use super::{People, clock_time, duration_text};
use crate::domain::incident::Severity;
use crate::domain::outbound::{Button, ButtonAction, Keyboard, PatrolTick};
use crate::domain::patrol::{Item, ItemState, Patrol, progress};
use crate::domain::store::Store;
use crate::domain::team::Person;
use crate::html::escape;
use crate::i18n::{Arg, I18n, Lang};
use crate::{t, tp};

/// Telegram shows at most about 100 buttons on one message.
const BUTTON_LIMIT: usize = 100;

/// Everything a checklist shows, loaded beforehand.
#[derive(Clone, Debug)]
pub struct PatrolView {
    pub patrol: Patrol,
    pub items: Vec<Item>,
    pub team_name: String,
    /// The stores the account-login items name.
    pub stores: HashMap<i64, Store>,
    /// The owner and everyone who ticked.
    pub people: People,
    pub timezone: Tz,
}

fn weekday_label(i18n: &I18n, lang: Lang, date: NaiveDate) -> String {
    match date.weekday() {
        chrono::Weekday::Mon => tp!(i18n, lang, "weekday-mon"),
        chrono::Weekday::Tue => tp!(i18n, lang, "weekday-tue"),
        chrono::Weekday::Wed => tp!(i18n, lang, "weekday-wed"),
        chrono::Weekday::Thu => tp!(i18n, lang, "weekday-thu"),
        chrono::Weekday::Fri => tp!(i18n, lang, "weekday-fri"),
        chrono::Weekday::Sat => tp!(i18n, lang, "weekday-sat"),
        chrono::Weekday::Sun => tp!(i18n, lang, "weekday-sun"),
    }
}

fn store_label(i18n: &I18n, lang: Lang, stores: &HashMap<i64, Store>, store_id: Option<i64>) -> String {
    store_id.and_then(|id| stores.get(&id)).map(|store| store.label(i18n, lang)).unwrap_or_default()
}

/// The live checklist: header, progress, each step with who ticked what and when; open steps
/// show what to check and what to do (HTML).
pub fn checklist(i18n: &I18n, lang: Lang, view: &PatrolView) -> String {
    let patrol = &view.patrol;
    let time = |at: chrono::DateTime<Utc>| clock_time(at, view.timezone);
    let owner = match patrol.owner_id {
        Some(id) => match view.people.get(id) {
            Some(person) => person.mention(),
            None => format!("<code>{id}</code>"),
        },
        None => tp!(i18n, lang, "patrol-nobody"),
    };
    let (done, total) = progress(&view.items);
    let mut lines = vec![t!(
        i18n,
        lang,
        "patrol-header",
        team = view.team_name.as_str(),
        date = patrol.local_date.format("%m-%d").to_string(),
        weekday = weekday_label(i18n, lang, patrol.local_date)
    )];
    lines.push(t!(i18n, lang, "patrol-owner", owner = Arg::Html(owner), deadline = time(patrol.deadline_at)));
    if patrol.posted_late {
        lines.push(t!(i18n, lang, "patrol-posted-late", time = time(patrol.starts_at)));
    }
    lines.push(t!(i18n, lang, "patrol-progress", done = done, total = total));
    let mut position = 0;
    for item in &view.items {
        let ticked = match (item.ticked_by, item.ticked_at) {
            (Some(by), Some(at)) => format!(" — {} {}", view.people.name_html(Some(by)), time(at)),
            _ => String::new(),
        };
        let note = item.note.as_deref().map(|note| t!(i18n, lang, "patrol-item-note", note = note)).unwrap_or_default();
        let incident =
            item.incident_id.map(|id| t!(i18n, lang, "patrol-item-incident", number = id)).unwrap_or_default();
        let mark = item.state.mark();
        if item.store_id.is_some() {
            if item.position != position {
                position = item.position;
                lines.push(format!("<b>{}. {}</b>", item.position, escape(&item.title)));
            }
            let store = store_label(i18n, lang, &view.stores, item.store_id);
            lines.push(format!("    {mark} {}{ticked}{note}{incident}", escape(&store)));
            continue;
        }
        position = item.position;
        lines.push(format!("{mark} <b>{}. {}</b>{ticked}{note}{incident}", item.position, escape(&item.title)));
        if item.state == ItemState::Open && (!item.check_text.is_empty() || !item.fix_text.is_empty()) {
            lines.push(t!(
                i18n,
                lang,
                "patrol-step-detail",
                check = item.check_text.as_str(),
                fix = item.fix_text.as_str()
            ));
        }
    }
    if let Some(completed_at) = patrol.completed_at {
        lines.push(t!(i18n, lang, "patrol-done-line", time = time(completed_at)));
    } else if patrol.escalated_at.is_some() {
        lines.push(t!(i18n, lang, "patrol-late-line"));
    }
    lines.join("\n")
}

/// Buttons for the open items: ✅ / ⚠ / N/A per step, OK / Offline per store. Returns the main
/// keyboard and, when there would be too many buttons for one message, the stores' own.
pub fn keyboards(i18n: &I18n, lang: Lang, items: &[Item]) -> (Option<Keyboard>, Option<Keyboard>) {
    let mut store_rows = Vec::new();
    let mut step_rows = Vec::new();
    for item in items.iter().filter(|item| item.state == ItemState::Open) {
        if item.store_id.is_some() {
            store_rows.push(item.id);
        } else {
            step_rows.push(vec![
                Button::new(format!("{} ✅", item.position), ButtonAction::PatrolTick(item.id, PatrolTick::Ok)),
                Button::new(format!("{} ⚠", item.position), ButtonAction::PatrolTick(item.id, PatrolTick::Issue)),
                Button::new(
                    format!("{} {}", item.position, tp!(i18n, lang, "patrol-button-na")),
                    ButtonAction::PatrolTick(item.id, PatrolTick::NotApplicable),
                ),
            ]);
        }
    }
    let store_keyboard_rows: Vec<Vec<Button>> = store_rows
        .iter()
        .enumerate()
        .map(|(index, item_id)| {
            vec![
                Button::new(format!("1.{} ✅", index + 1), ButtonAction::PatrolTick(*item_id, PatrolTick::Ok)),
                Button::new(
                    format!("1.{} {}", index + 1, tp!(i18n, lang, "patrol-button-offline")),
                    ButtonAction::PatrolTick(*item_id, PatrolTick::Offline),
                ),
            ]
        })
        .collect();
    let total = store_keyboard_rows.len() * 2 + step_rows.len() * 3;
    if total <= BUTTON_LIMIT {
        let mut rows = store_keyboard_rows;
        rows.extend(step_rows);
        (Keyboard::new(rows).non_empty(), None)
    } else {
        (Keyboard::new(step_rows).non_empty(), Keyboard::new(store_keyboard_rows).non_empty())
    }
}

/// The message holding the stores' buttons when the checklist has too many (HTML).
pub fn stores_message(i18n: &I18n, lang: Lang, patrol: &Patrol) -> String {
    t!(i18n, lang, "patrol-stores-message", date = patrol.local_date.format("%Y-%m-%d").to_string())
}

/// Open steps as a short list for reminders (HTML).
pub fn open_steps(i18n: &I18n, lang: Lang, items: &[Item]) -> String {
    let mut titles: Vec<String> = Vec::new();
    for item in items.iter().filter(|item| item.state == ItemState::Open) {
        let title = format!("{}. {}", item.position, escape(&item.title));
        if !titles.contains(&title) {
            titles.push(title);
        }
    }
    i18n.list(lang, &titles)
}

/// The reminder before the deadline (HTML); `owner` is a mention or empty.
pub fn reminder(i18n: &I18n, lang: Lang, view: &PatrolView) -> String {
    let owner = view.patrol.owner_id.and_then(|id| view.people.get(id)).map(|person| person.mention());
    t!(
        i18n,
        lang,
        "patrol-reminder",
        owner = Arg::Html(owner.unwrap_or_default()),
        steps = Arg::Html(open_steps(i18n, lang, &view.items)),
        deadline = clock_time(view.patrol.deadline_at, view.timezone)
    )
}

/// At the deadline, in the team group: the supervisor on duty mentioned (HTML).
pub fn late_in_group(i18n: &I18n, lang: Lang, view: &PatrolView, supervisor_mention: &str) -> String {
    t!(
        i18n,
        lang,
        "patrol-late-group",
        supervisor = Arg::Html(supervisor_mention.to_owned()),
        team = view.team_name.as_str(),
        steps = Arg::Html(open_steps(i18n, lang, &view.items))
    )
}

/// At the deadline, to the supervisor on duty privately (HTML).
pub fn late_in_private(i18n: &I18n, lang: Lang, view: &PatrolView) -> String {
    t!(
        i18n,
        lang,
        "patrol-late-private",
        team = view.team_name.as_str(),
        steps = Arg::Html(open_steps(i18n, lang, &view.items))
    )
}

/// The one-line summary when every step is done (HTML).
pub fn summary(i18n: &I18n, lang: Lang, view: &PatrolView, now: chrono::DateTime<Utc>) -> String {
    let issues = view.items.iter().filter(|item| item.state.is_finding()).count();
    t!(i18n, lang, "patrol-summary", duration = duration_text(i18n, lang, view.patrol.posted_at, now), issues = issues)
}

/// The prompt after N/A or ⚠: a reason or a note, as a reply (HTML).
pub fn ask_answer(i18n: &I18n, lang: Lang, mention: &str, item: &Item, issue: bool) -> String {
    let person = Arg::Html(mention.to_owned());
    if issue {
        t!(i18n, lang, "patrol-ask-issue", person = person, step = item.position, title = item.title.as_str())
    } else {
        t!(i18n, lang, "patrol-ask-na", person = person, step = item.position, title = item.title.as_str())
    }
}

/// The question about a finding's severity, with its three buttons.
pub fn ask_severity(i18n: &I18n, lang: Lang, item_id: i64) -> (String, Keyboard) {
    let buttons = [Severity::Blue, Severity::Yellow, Severity::Red]
        .into_iter()
        .map(|severity| {
            Button::new(
                format!("{} {}", severity.icon(), severity.label(i18n, lang)),
                ButtonAction::PatrolSeverity(item_id, severity),
            )
        })
        .collect();
    (t!(i18n, lang, "patrol-ask-severity"), Keyboard::new(vec![buttons]))
}

/// The severity prompt once answered (HTML).
pub fn finding_recorded(i18n: &I18n, lang: Lang, incident: i64, severity: Severity) -> String {
    t!(i18n, lang, "patrol-issue-recorded", number = incident, severity = severity.label(i18n, lang))
}

/// One day of `/patrol history`.
pub struct HistoryDay {
    pub patrol: Patrol,
    pub items: Vec<Item>,
    pub completed_by: Option<Person>,
}

/// `/patrol history`: per day, whether and when it was done, by whom, lateness and issues;
/// then which checks found problems most often (HTML).
pub fn history(i18n: &I18n, lang: Lang, days: i64, history: &[HistoryDay], timezone: Tz) -> String {
    let mut text = t!(i18n, lang, "patrol-history-header", days = days);
    let mut per_step: Vec<(String, i64)> = Vec::new();
    for day in history {
        let patrol = &day.patrol;
        let mut issues: Vec<String> = Vec::new();
        for item in day.items.iter().filter(|item| item.state.is_finding()) {
            let label = format!("{}. {}", item.position, item.title);
            match per_step.iter_mut().find(|(title, _)| *title == label) {
                Some(entry) => entry.1 += 1,
                None => per_step.push((label.clone(), 1)),
            }
            issues.push(label);
        }
        let issues_text = if issues.is_empty() { "—".to_owned() } else { i18n.list(lang, &issues) };
        let date = patrol.local_date.format("%Y-%m-%d").to_string();
        let line = match patrol.completed_at {
            Some(done) => {
                let late = if done > patrol.deadline_at {
                    t!(
                        i18n,
                        lang,
                        "patrol-history-late",
                        duration = duration_text(i18n, lang, patrol.deadline_at, done)
                    )
                } else {
                    String::new()
                };
                t!(
                    i18n,
                    lang,
                    "patrol-history-done",
                    date = date,
                    time = clock_time(done, timezone),
                    person = Arg::Html(day.completed_by.as_ref().map(Person::name_html).unwrap_or_default()),
                    late = Arg::Html(late),
                    issues = issues_text
                )
            }
            None => t!(i18n, lang, "patrol-history-open", date = date, issues = issues_text),
        };
        text.push('\n');
        text.push_str(&line);
    }
    per_step.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    if !per_step.is_empty() {
        text.push('\n');
        text.push_str(&t!(i18n, lang, "patrol-history-by-step"));
        for (title, count) in per_step {
            text.push('\n');
            text.push_str(&t!(i18n, lang, "patrol-history-step-line", title = title, count = count));
        }
    }
    text
}
