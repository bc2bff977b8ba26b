//! The morning patrol in words: the live checklist and its buttons, the prompts for a reason
//! or a note, the reminder, the late notice, the summary, and the history.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::{People, clock_time, date_text, duration_text, seconds_text, shorten};
use crate::domain::incident::Severity;
use crate::domain::outbound::{Button, ButtonAction, Keyboard, PatrolTick};
use crate::domain::patrol::{Item, ItemState, Patrol, progress};
use crate::domain::store::Store;
use crate::domain::team::Person;
use crate::i18n::{Arg, I18n, Lang};
use crate::{t, tp};

/// Telegram shows at most about 100 buttons on one message.
const BUTTON_LIMIT: usize = 100;

/// A store's name on its buttons is cut here (two buttons share a row).
const BUTTON_NAME_LIMIT: usize = 10;

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

/// "4. 违规与投诉" (plain text).
pub fn step_name(i18n: &I18n, lang: Lang, item: &Item) -> String {
    tp!(i18n, lang, "patrol-step-name", number = item.position, title = item.title.as_str())
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
        date = date_text(i18n, lang, patrol.local_date)
    )];
    lines.push(t!(i18n, lang, "patrol-owner", owner = Arg::Html(owner), deadline = time(patrol.deadline_at)));
    if patrol.posted_late {
        lines.push(t!(i18n, lang, "patrol-posted-late", time = time(patrol.starts_at)));
    }
    lines.push(t!(i18n, lang, "patrol-progress", done = done, total = total));
    let mut position = 0;
    for item in &view.items {
        let ticked = match (item.ticked_by, item.ticked_at) {
            (Some(by), Some(at)) => {
                t!(
                    i18n,
                    lang,
                    "patrol-item-ticked",
                    person = Arg::Html(view.people.name_html(Some(by))),
                    time = time(at)
                )
            }
            _ => String::new(),
        };
        let note = item.note.as_deref().map(|note| t!(i18n, lang, "patrol-item-note", note = note)).unwrap_or_default();
        let incident =
            item.incident_id.map(|id| t!(i18n, lang, "patrol-item-incident", number = id)).unwrap_or_default();
        let mark = item.state.mark();
        let (ticked, note, incident) = (Arg::Html(ticked), Arg::Html(note), Arg::Html(incident));
        if item.store_id.is_some() {
            if item.position != position {
                position = item.position;
                lines.push(t!(i18n, lang, "patrol-store-heading", step = step_name(i18n, lang, item)));
            }
            let store = store_label(i18n, lang, &view.stores, item.store_id);
            lines.push(t!(
                i18n,
                lang,
                "patrol-store-line",
                mark = mark,
                store = store,
                ticked = ticked,
                note = note,
                incident = incident
            ));
            continue;
        }
        position = item.position;
        lines.push(t!(
            i18n,
            lang,
            "patrol-step-line",
            mark = mark,
            step = step_name(i18n, lang, item),
            ticked = ticked,
            note = note,
            incident = incident
        ));
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

/// Buttons for the open items: ✅ / ⚠ / N/A per step (by its number), ✅ / offline per store
/// (by its name, which stays put while other items are ticked; the button carries the item's
/// id). Returns the main keyboard and, when there would be too many buttons for one message,
/// the stores' own.
pub fn keyboards(
    i18n: &I18n,
    lang: Lang,
    items: &[Item],
    stores: &HashMap<i64, Store>,
) -> (Option<Keyboard>, Option<Keyboard>) {
    let mut store_keyboard_rows = Vec::new();
    let mut step_rows = Vec::new();
    for item in items.iter().filter(|item| item.state == ItemState::Open) {
        let tick = |tick| ButtonAction::PatrolTick(item.id, tick);
        if let Some(store_id) = item.store_id {
            let name = stores.get(&store_id).map(|store| shorten(&store.name, BUTTON_NAME_LIMIT)).unwrap_or_default();
            store_keyboard_rows.push(vec![
                Button::new(tp!(i18n, lang, "patrol-button-store-ok", store = name.as_str()), tick(PatrolTick::Ok)),
                Button::new(
                    tp!(i18n, lang, "patrol-button-store-offline", store = name.as_str()),
                    tick(PatrolTick::Offline),
                ),
            ]);
        } else {
            let number = item.position;
            step_rows.push(vec![
                Button::new(tp!(i18n, lang, "patrol-button-ok", number = number), tick(PatrolTick::Ok)),
                Button::new(tp!(i18n, lang, "patrol-button-issue", number = number), tick(PatrolTick::Issue)),
                Button::new(tp!(i18n, lang, "patrol-button-na", number = number), tick(PatrolTick::NotApplicable)),
            ]);
        }
    }
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
    t!(i18n, lang, "patrol-stores-message", date = date_text(i18n, lang, patrol.local_date))
}

/// Open steps as a short list for reminders (HTML).
pub fn open_steps(i18n: &I18n, lang: Lang, items: &[Item]) -> String {
    let mut titles: Vec<String> = Vec::new();
    for item in items.iter().filter(|item| item.state == ItemState::Open) {
        let title = t!(i18n, lang, "patrol-step-name", number = item.position, title = item.title.as_str());
        if !titles.contains(&title) {
            titles.push(title);
        }
    }
    i18n.list(lang, &titles)
}

/// The time left until `deadline`, in whole minutes rounded up: "10 分钟" / "10 min".
fn time_left(i18n: &I18n, lang: Lang, deadline: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let minutes = ((deadline - now).num_seconds().max(0) + 59) / 60;
    seconds_text(i18n, lang, minutes * 60)
}

/// The reminder before the deadline, sent at `now` (HTML). `who` are the mentions of whoever
/// should act (the owner, else the team's leads); with nobody to mention, nobody is named.
pub fn reminder(i18n: &I18n, lang: Lang, view: &PatrolView, who: &[String], now: DateTime<Utc>) -> String {
    let steps = Arg::Html(open_steps(i18n, lang, &view.items));
    let deadline = clock_time(view.patrol.deadline_at, view.timezone);
    let left = time_left(i18n, lang, view.patrol.deadline_at, now);
    if who.is_empty() {
        t!(i18n, lang, "patrol-reminder-unowned", left = left, deadline = deadline, steps = steps)
    } else {
        let owner = Arg::Html(i18n.list(lang, who));
        t!(i18n, lang, "patrol-reminder", owner = owner, left = left, deadline = deadline, steps = steps)
    }
}

/// At the deadline, in the team group: the supervisor on duty mentioned, when there is one
/// (HTML).
pub fn late_in_group(i18n: &I18n, lang: Lang, view: &PatrolView, supervisor_mention: Option<&str>) -> String {
    match supervisor_mention {
        Some(mention) => t!(
            i18n,
            lang,
            "patrol-late-group",
            supervisor = Arg::Html(mention.to_owned()),
            team = view.team_name.as_str(),
            steps = Arg::Html(open_steps(i18n, lang, &view.items))
        ),
        None => late_in_private(i18n, lang, view),
    }
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
pub fn summary(i18n: &I18n, lang: Lang, view: &PatrolView, now: DateTime<Utc>) -> String {
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
                tp!(
                    i18n,
                    lang,
                    "patrol-severity-button",
                    icon = severity.icon(),
                    severity = severity.label(i18n, lang)
                ),
                ButtonAction::PatrolSeverity(item_id, severity),
            )
        })
        .collect();
    (t!(i18n, lang, "patrol-ask-severity"), Keyboard::new(vec![buttons]))
}

/// What an issue's incident records: the item and the note (plain text: it is stored, and
/// escaped wherever it is shown).
pub fn finding_description(i18n: &I18n, lang: Lang, item: &Item, note: &str) -> String {
    tp!(i18n, lang, "patrol-finding", step = step_name(i18n, lang, item), note = note)
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
            let label = step_name(i18n, lang, item);
            match per_step.iter_mut().find(|(title, _)| *title == label) {
                Some(entry) => entry.1 += 1,
                None => per_step.push((label.clone(), 1)),
            }
            issues.push(label);
        }
        let issues_text =
            if issues.is_empty() { tp!(i18n, lang, "patrol-history-no-issues") } else { i18n.list(lang, &issues) };
        let date = date_text(i18n, lang, patrol.local_date);
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

#[cfg(test)]
mod tests {
    use chrono::{Duration, NaiveDate, TimeZone};

    use super::*;
    use crate::domain::patrol::StepKind;
    use crate::domain::store::Platform;

    fn i18n() -> I18n {
        I18n::load().expect("locales load")
    }

    fn at(hour: u32, minute: u32) -> DateTime<Utc> {
        // 2026-03-03 in Shanghai is UTC+8.
        Utc.with_ymd_and_hms(2026, 3, 3, hour - 8, minute, 0).single().expect("valid")
    }

    fn item(id: i64, position: i64, title: &str, store_id: Option<i64>) -> Item {
        Item {
            id,
            patrol_id: 1,
            position,
            kind: if store_id.is_some() { StepKind::Logins } else { StepKind::Check },
            title: title.into(),
            check_text: String::new(),
            fix_text: String::new(),
            store_id,
            state: ItemState::Open,
            ticked_by: None,
            ticked_at: None,
            note: None,
            incident_id: None,
        }
    }

    fn view() -> PatrolView {
        let patrol = Patrol {
            id: 1,
            team_id: 1,
            local_date: NaiveDate::from_ymd_opt(2026, 3, 3).expect("valid"),
            chat_id: -100,
            owner_id: None,
            starts_at: at(8, 30),
            deadline_at: at(9, 30),
            posted_at: at(8, 30),
            posted_late: false,
            message_id: None,
            stores_message_id: None,
            completed_at: None,
            completed_by: None,
            escalated_at: None,
        };
        let stores = [(7, "旗舰店"), (8, "一个名字特别特别长的官方旗舰店")]
            .into_iter()
            .map(|(id, name)| (id, Store { id, team_id: 1, platform: Platform::Tmall, name: name.into() }))
            .collect();
        PatrolView {
            patrol,
            items: vec![item(1, 1, "账号登录", Some(7)), item(2, 1, "账号登录", Some(8)), item(3, 2, "离线消息", None)],
            team_name: "天猫一组".into(),
            stores,
            people: People::default(),
            timezone: chrono_tz::Asia::Shanghai,
        }
    }

    fn labels(keyboard: &Keyboard) -> Vec<String> {
        keyboard.rows.iter().flatten().map(|button| button.label.clone()).collect()
    }

    #[test]
    fn store_buttons_carry_the_store_name_and_step_buttons_the_number() {
        let (i18n, view) = (i18n(), view());
        let (main, separate) = keyboards(&i18n, Lang::ZhCn, &view.items, &view.stores);
        assert!(separate.is_none());
        let labels = labels(&main.expect("buttons"));
        assert_eq!(
            labels,
            [
                "旗舰店 ✅",
                "旗舰店 掉线",
                "一个名字特别特别长的… ✅",
                "一个名字特别特别长的… 掉线",
                "2 ✅",
                "2 ⚠",
                "2 不适用"
            ]
        );
        let (main, _) = keyboards(&i18n, Lang::En, &view.items, &view.stores);
        assert_eq!(labels_of(main)[..2], ["旗舰店 ✅".to_owned(), "旗舰店 offline".to_owned()]);
    }

    fn labels_of(keyboard: Option<Keyboard>) -> Vec<String> {
        labels(&keyboard.expect("buttons"))
    }

    #[test]
    fn the_header_and_the_stores_message_show_the_date_in_words() {
        let (i18n, view) = (i18n(), view());
        let text = checklist(&i18n, Lang::ZhCn, &view);
        assert!(text.starts_with("🗒 <b>日常巡店</b> · 天猫一组 · 3月3日 周二\n"), "{text}");
        assert!(text.contains("\n<b>1. 账号登录</b>\n    ⬜ 天猫 · 旗舰店\n"), "{text}");
        assert!(text.contains("\n⬜ <b>2. 离线消息</b>"), "{text}");
        assert!(checklist(&i18n, Lang::En, &view).starts_with("🗒 <b>Morning patrol</b> · 天猫一组 · Tue 3 Mar\n"));
        assert!(stores_message(&i18n, Lang::ZhCn, &view.patrol).starts_with("3月3日 周二 账号登录"));
    }

    #[test]
    fn the_reminder_names_the_time_actually_left() {
        let (i18n, view) = (i18n(), view());
        let owner = ["@alice".to_owned()];
        assert_eq!(
            reminder(&i18n, Lang::ZhCn, &view, &owner, at(9, 15)),
            "@alice 巡店还有 15 分钟截止（09:30），还差：1. 账号登录、2. 离线消息"
        );
        // Started by hand at 09:22: the reminder goes at once, with eight minutes left.
        let late_start = at(9, 22) + Duration::seconds(5);
        assert_eq!(
            reminder(&i18n, Lang::ZhCn, &view, &[], late_start),
            "⏰ 巡店还有 8 分钟截止（09:30），还差：1. 账号登录、2. 离线消息"
        );
        assert_eq!(
            reminder(&i18n, Lang::En, &view, &owner, at(9, 22)),
            "@alice the patrol is due in 8 min (09:30); still to do: 1. 账号登录, 2. 离线消息"
        );
    }

    #[test]
    fn the_late_notice_mentions_the_supervisor_only_when_there_is_one() {
        let (i18n, view) = (i18n(), view());
        let open = "1. 账号登录、2. 离线消息";
        assert_eq!(
            late_in_group(&i18n, Lang::ZhCn, &view, Some("@sam")),
            format!("@sam 团队「天猫一组」今天的巡店已过截止时间，还差：{open}")
        );
        assert_eq!(
            late_in_group(&i18n, Lang::ZhCn, &view, None),
            format!("⏰ 团队「天猫一组」今天的巡店已过截止时间，还差：{open}")
        );
    }

    #[test]
    fn the_summary_says_when_nothing_was_found() {
        let (i18n, mut view) = (i18n(), view());
        for item in &mut view.items {
            item.state = ItemState::Ok;
        }
        assert_eq!(summary(&i18n, Lang::ZhCn, &view, at(8, 39)), "✅ 今日巡店完成，用时 9 分钟，未发现问题。");
        assert_eq!(summary(&i18n, Lang::En, &view, at(8, 39)), "✅ Today's patrol is done in 9 min: no issues found.");
        view.items[2].state = ItemState::Issue;
        assert_eq!(summary(&i18n, Lang::ZhCn, &view, at(8, 39)), "✅ 今日巡店完成，用时 9 分钟，发现 1 个问题。");
        assert_eq!(summary(&i18n, Lang::En, &view, at(8, 39)), "✅ Today's patrol is done in 9 min: one issue found.");
    }

    #[test]
    fn the_history_shows_dates_in_words() {
        let (i18n, view) = (i18n(), view());
        let day = HistoryDay { patrol: view.patrol.clone(), items: view.items.clone(), completed_by: None };
        let text = history(&i18n, Lang::ZhCn, 3, &[day], view.timezone);
        assert_eq!(text, "<b>最近 3 天的巡店</b>\n3月3日 周二 ❌ 未完成 · 问题：无");
        let day = HistoryDay { patrol: view.patrol.clone(), items: view.items.clone(), completed_by: None };
        let text = history(&i18n, Lang::En, 1, &[day], view.timezone);
        assert_eq!(text, "<b>Today's patrol</b>\nTue 3 Mar ❌ not completed · issues: none");
    }
}
