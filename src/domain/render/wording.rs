//! The words floorbot writes, read as the floor reads them: Chinese without English codes in
//! it, English without Chinese, no empty brackets, no doubled punctuation, no dash standing in
//! for a missing value. Every locale message is rendered with sample values, and the incident
//! messages are rendered from realistic views — empty, zero, a long name, no store, a merged
//! call. The spoken call texts are kept in `tests/fixtures/spoken-calls.txt`, to be read
//! aloud by a person or a text-to-speech voice; set `FLOORBOT_WRITE_FIXTURES=1` to rewrite it.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};

use super::People;
use super::digest::{self, Digest};
use super::incident::{self as render, IncidentView};
use crate::domain::calls::{SpokenIncident, call_text};
use crate::domain::escalation::{Action, Step, Target};
use crate::domain::incident::{AnomalyKind, Event, EventKind, Incident, IncidentKind, Severity};
use crate::domain::outbound::{MergeItem, MergeKind};
use crate::domain::store::{Platform, Store};
use crate::domain::team::Person;
use crate::i18n::tests::variables_by_message;
use crate::i18n::{Arg, EN_SOURCE, I18n, Lang, ZH_CN_SOURCE};

/// ASCII words a Chinese message may carry: they are what the floor writes too.
const ASCII_WORDS_IN_CHINESE: &[&str] = &["ID", "IT", "HH", "MM", "BotFather", "Telegram", "floorbot", "English"];

/// Chinese an English message may carry: the language's own name, as language menus write it.
const CHINESE_WORDS_IN_ENGLISH: &[&str] = &["中文"];

/// Placeholders that take numbers.
const NUMBER_PLACEHOLDERS: &[&str] = &[
    "number", "count", "minutes", "hours", "days", "seconds", "done", "total", "limit", "id", "issues", "step", "left",
];

/// What is wrong with one text, if anything.
fn problems(text: &str, lang: Lang) -> Vec<String> {
    let mut found = Vec::new();
    for empty in ["（）", "()", "「」", "【】", "“”", "<b></b>"] {
        if text.contains(empty) {
            found.push(format!("empty brackets {empty:?}"));
        }
    }
    for doubled in ["，，", "。。", "、、", "：：", "，。", "。，", ",,", " ,", " .", "..."] {
        if text.contains(doubled) {
            found.push(format!("doubled or stray punctuation {doubled:?}"));
        }
    }
    for missing in ["：—", ": —", "· —", "—\n", "（—）", "(—)"] {
        if text.contains(missing) || text.ends_with('—') {
            found.push(format!("a dash for a missing value {missing:?}"));
        }
    }
    let readable = readable_words(text);
    match lang {
        Lang::ZhCn => {
            for word in ascii_words(&readable) {
                if !ASCII_WORDS_IN_CHINESE.contains(&word.as_str()) {
                    found.push(format!("English word {word:?} in Chinese"));
                }
            }
        }
        Lang::En => {
            let readable = CHINESE_WORDS_IN_ENGLISH.iter().fold(readable, |text, word| text.replace(word, ""));
            if let Some(c) = readable.chars().find(|c| is_chinese(*c)) {
                found.push(format!("Chinese character {c:?} in English"));
            }
        }
    }
    found
}

/// The text as a reader reads it: no markup, no `<code>` (commands and examples to type),
/// no `/command`, no link targets.
fn readable_words(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("<code>") {
        out.push_str(&rest[..start]);
        rest = rest[start..].find("</code>").map_or("", |end| &rest[start + end + "</code>".len()..]);
    }
    out.push_str(rest);
    let mut plain = String::new();
    let mut in_tag = false;
    for c in out.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => plain.push(c),
            _ => {}
        }
    }
    // Usernames and commands are what people type, not words of the message.
    let mut readable = String::new();
    let mut skipping = false;
    for c in plain.chars() {
        if c == '@' || c == '/' {
            skipping = true;
            continue;
        }
        if skipping && (c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        skipping = false;
        readable.push(c);
    }
    readable
}

fn ascii_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    for c in text.chars().chain([' ']) {
        if c.is_ascii_alphabetic() {
            word.push(c);
        } else {
            if word.len() >= 2 {
                words.push(word.clone());
            }
            word.clear();
        }
    }
    words
}

fn is_chinese(c: char) -> bool {
    matches!(c, '\u{4e00}'..='\u{9fff}' | '\u{3000}'..='\u{303f}' | '\u{ff00}'..='\u{ffef}')
}

fn i18n() -> I18n {
    I18n::load().expect("locales load")
}

#[test]
fn every_message_reads_as_its_language() {
    let i18n = i18n();
    let mut failures = Vec::new();
    for (lang, source, sample) in [(Lang::ZhCn, ZH_CN_SOURCE, "旗舰店"), (Lang::En, EN_SOURCE, "Flagship")] {
        for (key, variables) in variables_by_message(source) {
            let args: Vec<(&str, Arg)> = variables
                .iter()
                .map(|name| {
                    let value = if NUMBER_PLACEHOLDERS.contains(&name.as_str()) {
                        Arg::Number(3)
                    } else {
                        Arg::Text(sample.to_owned())
                    };
                    (name.as_str(), value)
                })
                .collect();
            let text = i18n.plain(lang, &key, &args);
            for problem in problems(&text, lang) {
                failures.push(format!("{lang} `{key}`: {problem}: {text:?}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn at(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 29, 1, 0, 0).single().expect("valid") + chrono::Duration::minutes(minutes)
}

fn person(id: i64, first_name: &str, username: Option<&str>) -> Person {
    Person {
        user_id: id,
        first_name: first_name.to_owned(),
        last_name: None,
        username: username.map(str::to_owned),
        language_code: None,
        started_private: true,
    }
}

/// Names in the reader's language: a Chinese floor and an English one.
fn people(lang: Lang) -> People {
    let (agent, ops, supervisor) = match lang {
        Lang::ZhCn => ("小美", "运营小刘", "王主管"),
        Lang::En => ("May", "Liu in operations", "Supervisor Wang"),
    };
    let long = match lang {
        Lang::ZhCn => "一个名字特别特别长的客服同事一个名字特别特别长的客服同事",
        Lang::En => "An agent with a very very long name indeed, longer than any line",
    };
    People(HashMap::from([
        (11, person(11, agent, None)),
        (12, person(12, ops, Some("ops_liu"))),
        (13, person(13, supervisor, Some("duty_wang"))),
        (14, person(14, long, None)),
    ]))
}

fn incident(id: i64, kind: IncidentKind, severity: Severity, anomaly: Option<AnomalyKind>, lang: Lang) -> Incident {
    let description = match lang {
        Lang::ZhCn => "A 款连衣裙标价 9.9，应为 99，顾客在问",
        Lang::En => "Dress A shows 9.9 instead of 99; customers are asking",
    };
    Incident {
        id,
        kind,
        severity,
        team_id: 1,
        store_id: None,
        anomaly_kind: anomaly,
        description: description.to_owned(),
        reporter_id: 14,
        reported_at: at(0),
        report_chat_id: Some(-100),
        report_message_id: Some(5),
        team_chat_id: Some(-100),
        team_message_id: Some(6),
        ops_chat_id: None,
        ops_message_id: None,
        acknowledged_at: None,
        acknowledged_by: None,
        resolved_at: None,
        resolved_by: None,
        resolution: None,
    }
}

fn store(lang: Lang) -> Store {
    let name = match lang {
        Lang::ZhCn => "旗舰店",
        Lang::En => "Flagship",
    };
    Store { id: 1, team_id: 1, platform: Platform::Tmall, name: name.to_owned() }
}

fn event(minutes: i64, kind: EventKind, actor: Option<i64>, subject: Option<i64>, detail: Option<&str>) -> Event {
    Event { at: at(minutes), kind, actor_id: actor, subject_id: subject, detail: detail.map(str::to_owned) }
}

/// Incidents as the floor sees them: waiting, acknowledged, resolved with and without a note,
/// findings of each colour without a store, an account offline.
fn views(lang: Lang) -> Vec<IncidentView> {
    let team = match lang {
        Lang::ZhCn => "天猫一组",
        Lang::En => "Tmall team 1",
    };
    let step =
        Step { after: Duration::from_secs(300), actions: vec![Action::Call, Action::Private], target: Target::Duty };
    let view = |incident: Incident, store: Option<Store>, events: Vec<Event>, next: bool| IncidentView {
        incident,
        team_name: team.to_owned(),
        store,
        events,
        people: people(lang),
        next_step: next.then(|| (at(5), step.clone())),
        has_ops_group: true,
        timezone: chrono_tz::Asia::Shanghai,
    };
    let waiting = incident(1, IncidentKind::StoreAnomaly, Severity::Yellow, Some(AnomalyKind::Price), lang);
    let mut acknowledged = incident(2, IncidentKind::StoreAnomaly, Severity::Yellow, Some(AnomalyKind::Coupon), lang);
    acknowledged.ops_message_id = Some(9);
    acknowledged.acknowledged_at = Some(at(3));
    acknowledged.acknowledged_by = Some(12);
    let mut resolved = acknowledged.clone();
    resolved.id = 3;
    resolved.resolved_at = Some(at(20));
    resolved.resolved_by = Some(12);
    let mut noted = resolved.clone();
    noted.id = 4;
    noted.resolution = Some(match lang {
        Lang::ZhCn => "价格已改回 99".to_owned(),
        Lang::En => "price set back to 99".to_owned(),
    });
    let red = incident(5, IncidentKind::PatrolIssue, Severity::Red, None, lang);
    let yellow = incident(6, IncidentKind::PatrolIssue, Severity::Yellow, None, lang);
    let blue = incident(7, IncidentKind::PatrolIssue, Severity::Blue, None, lang);
    let offline = incident(8, IncidentKind::AccountOffline, Severity::Yellow, None, lang);
    let timeline = vec![
        event(0, EventKind::Reported, Some(14), None, None),
        event(0, EventKind::Relayed, None, None, None),
        event(5, EventKind::Step, None, None, Some("1")),
        event(5, EventKind::StepLate, None, None, Some("1 185")),
        event(5, EventKind::StepNobody, None, None, Some("1 role:it")),
        event(5, EventKind::PrivateSent, None, Some(13), None),
        event(5, EventKind::PrivateFailed, None, Some(11), None),
        event(5, EventKind::Mentioned, None, None, Some("13,11")),
        event(5, EventKind::CallPlaced, None, Some(13), None),
        event(5, EventKind::CallPlaced, None, Some(13), Some("possibly-repeated")),
        event(6, EventKind::CallFailed, None, Some(13), Some("no-answer")),
        event(6, EventKind::CallRetry, None, Some(13), Some("2026-11-29T01:07:00+00:00")),
        event(6, EventKind::CallError, None, Some(13), Some("retry-at 2026-11-29T01:08:00+00:00")),
        event(6, EventKind::CallError, None, Some(13), None),
        event(7, EventKind::CallNoNumber, None, Some(11), None),
        event(7, EventKind::CallNoProvider, None, Some(11), None),
        event(7, EventKind::CallAnswered, None, Some(13), None),
        event(7, EventKind::CallCancelled, None, Some(13), None),
        event(8, EventKind::Acknowledged, Some(12), None, None),
        event(20, EventKind::Resolved, Some(12), None, None),
    ];
    vec![
        view(waiting, Some(store(lang)), timeline.clone(), true),
        view(acknowledged, Some(store(lang)), vec![], false),
        view(resolved, Some(store(lang)), timeline.clone(), false),
        view(noted, None, vec![], false),
        view(red, None, timeline, true),
        view(yellow, None, vec![], true),
        view(blue, None, vec![], false),
        view(offline, Some(store(lang)), vec![], false),
    ]
}

/// Every incident message, for every view, in one language.
fn incident_messages(i18n: &I18n, lang: Lang) -> Vec<(String, String)> {
    let now = at(12);
    let views = views(lang);
    let mut messages = Vec::new();
    for view in &views {
        let n = view.incident.id;
        messages.push((format!("status #{n}"), render::status(i18n, lang, view)));
        messages.push((format!("team message #{n}"), render::team_message(i18n, lang, view)));
        messages.push((format!("relay #{n}"), render::relay(i18n, lang, view)));
        messages.push((format!("record #{n}"), render::record(i18n, lang, view)));
        messages.push((format!("private alert #{n}"), render::private_alert(i18n, lang, view, now)));
        messages.push((format!("mention #{n}"), render::mention(i18n, lang, view, "@duty_wang", now)));
        messages.push((format!("notice #{n}"), render::notice(i18n, lang, view, view.incident.resolved_at.is_some())));
    }
    messages.push(("open list".to_owned(), render::open_list(i18n, lang, &views, now)));
    messages.push(("open list, empty".to_owned(), render::open_list(i18n, lang, &[], now)));
    let items: Vec<MergeItem> =
        views.iter().map(|view| MergeItem { subject: view.incident.id, detail: Some("13,11".to_owned()) }).collect();
    for kind in [MergeKind::Relay, MergeKind::Confirmation, MergeKind::Mention, MergeKind::PrivateAlert] {
        let Digest { html, .. } = digest::render(i18n, lang, kind, &views, &items, &people(lang));
        messages.push((format!("digest {kind:?}"), html));
    }
    // Notices go out once someone acknowledged or resolved.
    let answered: Vec<IncidentView> =
        views.iter().filter(|view| view.incident.acknowledged_at.is_some()).cloned().collect();
    let notices: Vec<MergeItem> = answered
        .iter()
        .map(|view| MergeItem {
            subject: view.incident.id,
            detail: view.incident.resolved_at.map(|_| EventKind::Resolved.as_str().to_owned()),
        })
        .collect();
    let Digest { html, .. } = digest::render(i18n, lang, MergeKind::Notice, &answered, &notices, &people(lang));
    messages.push(("digest of notices".to_owned(), html));
    messages
}

#[test]
fn incident_messages_read_as_their_language() {
    let i18n = i18n();
    let mut failures = Vec::new();
    for lang in [Lang::ZhCn, Lang::En] {
        for (what, text) in incident_messages(&i18n, lang) {
            for problem in problems(&text, lang) {
                failures.push(format!("{lang} {what}: {problem}:\n{text}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn a_store_anomaly_waiting_for_operations_reads_as_the_floor_says_it() {
    let i18n = i18n();
    let views = views(Lang::ZhCn);
    assert_eq!(
        render::status(&i18n, Lang::ZhCn, &views[0]).lines().take(6).collect::<Vec<_>>(),
        [
            "🟡 店铺异常 #1 · 等待运营处理",
            "店铺：天猫 · 旗舰店",
            "问题：价格错误",
            "描述：A 款连衣裙标价 9.9，应为 99，顾客在问",
            "报备：一个名字特别特别长的客服同事一个名字特别特别长的客服同事 · 09:00",
            "⏳ 09:00 报备，运营还没回复",
        ]
    );
    let finding = render::status(&i18n, Lang::ZhCn, &views[6]);
    assert!(finding.starts_with("🔵 巡店问题 #7 · 已记录，组内处理\n描述："), "{finding}");
    assert!(!finding.contains("店铺："), "no empty store line: {finding}");
    let record = render::record(&i18n, Lang::ZhCn, &views[4]);
    assert!(record.starts_with("<b>异常记录 #5</b> · 巡店问题\n"), "{record}");
    for line in [
        "09:05 第 1 轮提醒开始，比原定晚了 3 分钟",
        "09:05 第 1 轮提醒没有找到全体IT，已跳过",
        "09:05 已在群里提醒 王主管 (@duty_wang)、小美",
        "09:06 电话通知 王主管 (@duty_wang) 未接通（无人接听）",
        "09:06 将在 09:07 再次电话通知 王主管 (@duty_wang)",
        "09:06 电话服务暂时不可用，09:08 再打给 王主管 (@duty_wang)",
        "09:06 电话服务出错，没能打给 王主管 (@duty_wang)",
        "09:20 运营小刘 (@ops_liu) 已处理",
    ] {
        assert!(record.contains(line), "record lacks {line:?}:\n{record}");
    }
}

/// The calls a phone can ring with, in both languages.
fn spoken_calls(i18n: &I18n) -> Vec<(String, String)> {
    let spoken = |id, incident_kind, kind, store: bool, lang: Lang| SpokenIncident {
        id,
        incident_kind,
        kind,
        platform: store.then_some(Platform::Tmall),
        store: store.then(|| store_name(lang)),
    };
    let mut calls = Vec::new();
    for lang in [Lang::ZhCn, Lang::En] {
        let cases = [
            ("a store anomaly", vec![spoken(12, IncidentKind::StoreAnomaly, Some(AnomalyKind::Price), true, lang)]),
            ("a store anomaly, no store", vec![spoken(13, IncidentKind::StoreAnomaly, None, false, lang)]),
            ("a patrol finding at a store", vec![spoken(14, IncidentKind::PatrolIssue, None, true, lang)]),
            ("a patrol finding, nothing named", vec![spoken(15, IncidentKind::PatrolIssue, None, false, lang)]),
            ("an account offline", vec![spoken(16, IncidentKind::AccountOffline, None, true, lang)]),
            (
                "a merged call",
                vec![
                    spoken(3, IncidentKind::StoreAnomaly, Some(AnomalyKind::Stock), true, lang),
                    spoken(5, IncidentKind::PatrolIssue, None, false, lang),
                    spoken(8, IncidentKind::StoreAnomaly, Some(AnomalyKind::Coupon), true, lang),
                ],
            ),
        ];
        for (what, incidents) in cases {
            calls.push((format!("{lang} · {what}"), call_text(i18n, lang, &incidents)));
        }
    }
    calls
}

fn store_name(lang: Lang) -> String {
    match lang {
        Lang::ZhCn => "旗舰店".to_owned(),
        Lang::En => "Flagship".to_owned(),
    }
}

#[test]
fn spoken_calls_read_well_aloud_and_match_the_fixture() {
    let i18n = i18n();
    let calls = spoken_calls(&i18n);
    let mut fixture = String::from(
        "# What floorbot says on the phone, one call per paragraph: read it aloud, or feed it to a\n\
         # text-to-speech voice. Generated by the test `spoken_calls_read_well_aloud_and_match_the_fixture`.\n",
    );
    for (what, text) in &calls {
        let lang = if what.starts_with("zh") { Lang::ZhCn } else { Lang::En };
        assert!(!text.contains(" · ") && !text.contains('·'), "{what}: a separator is read aloud: {text}");
        assert!(problems(text, lang).is_empty(), "{what}: {:?}: {text}", problems(text, lang));
        fixture.push_str(&format!("\n## {what}\n{text}\n"));
    }
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/spoken-calls.txt");
    if std::env::var_os("FLOORBOT_WRITE_FIXTURES").is_some() {
        std::fs::write(&path, &fixture).expect("fixture written");
    }
    let recorded = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(recorded, fixture, "the spoken texts changed: run with FLOORBOT_WRITE_FIXTURES=1 and read the diff");
}
