//! The morning patrol (日常巡店) as values and rules: a day's checklist and its items, how far
//! along it is, where a finding goes by its severity, and the ten default steps.

use chrono::{DateTime, NaiveDate, Utc};
use strum::{Display, EnumString, IntoStaticStr};

use crate::domain::incident::Severity;
use crate::i18n::{I18n, Lang};
use crate::tp;

/// What a step is: the account-login step unfolds into the team's stores.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Display, EnumString, IntoStaticStr, sqlx::Type)]
#[strum(serialize_all = "snake_case")]
#[sqlx(rename_all = "snake_case")]
pub enum StepKind {
    Logins,
    Check,
}

/// One step of a checklist, as configured or as the default.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepText {
    pub kind: StepKind,
    pub title: String,
    pub check: String,
    pub fix: String,
}

/// Where an item stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Display, EnumString, IntoStaticStr, sqlx::Type)]
#[strum(serialize_all = "snake_case")]
#[sqlx(rename_all = "snake_case")]
pub enum ItemState {
    Open,
    Ok,
    Issue,
    Na,
    /// A store account found offline.
    Offline,
}

impl ItemState {
    pub fn mark(self) -> &'static str {
        match self {
            ItemState::Ok => "✅",
            ItemState::Issue => "⚠️",
            ItemState::Na => "➖",
            ItemState::Offline => "❌",
            ItemState::Open => "⬜",
        }
    }

    /// A finding: something is wrong.
    pub fn is_finding(self) -> bool {
        matches!(self, ItemState::Issue | ItemState::Offline)
    }
}

/// What a half-given answer is for: a reason for N/A, or the note of an issue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Display, EnumString, IntoStaticStr, sqlx::Type)]
#[strum(serialize_all = "snake_case")]
#[sqlx(rename_all = "snake_case")]
pub enum AnswerKind {
    Na,
    Issue,
}

/// A team's checklist for one day.
#[derive(Clone, Debug)]
pub struct Patrol {
    pub id: i64,
    pub team_id: i64,
    pub local_date: NaiveDate,
    pub chat_id: i64,
    pub owner_id: Option<i64>,
    pub starts_at: DateTime<Utc>,
    pub deadline_at: DateTime<Utc>,
    pub posted_at: DateTime<Utc>,
    pub posted_late: bool,
    pub message_id: Option<i64>,
    pub stores_message_id: Option<i64>,
    pub completed_at: Option<DateTime<Utc>>,
    pub completed_by: Option<i64>,
    pub escalated_at: Option<DateTime<Utc>>,
}

/// One line of a day's checklist: a step, or one store of the account-login step.
#[derive(Clone, Debug)]
pub struct Item {
    pub id: i64,
    pub patrol_id: i64,
    pub position: i64,
    pub kind: StepKind,
    pub title: String,
    pub check_text: String,
    pub fix_text: String,
    pub store_id: Option<i64>,
    pub state: ItemState,
    pub ticked_by: Option<i64>,
    pub ticked_at: Option<DateTime<Utc>>,
    pub note: Option<String>,
    pub incident_id: Option<i64>,
}

/// (done steps, all steps): a step is done when every one of its items is.
pub fn progress(items: &[Item]) -> (usize, usize) {
    let mut positions: Vec<i64> = items.iter().map(|item| item.position).collect();
    positions.dedup();
    let done = positions
        .iter()
        .filter(|position| {
            items.iter().filter(|item| item.position == **position).all(|item| item.state != ItemState::Open)
        })
        .count();
    (done, positions.len())
}

/// Every item is ticked: the patrol is complete.
pub fn is_complete(items: &[Item]) -> bool {
    items.iter().all(|item| item.state != ItemState::Open)
}

/// Where a finding goes, by its severity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Routing {
    /// Blue: recorded, and shown in the checklist.
    Record,
    /// Yellow: the supervisor on duty is told privately and mentioned in the group; no call.
    DutySupervisor,
    /// Red: relayed to operations, and the escalation chain runs.
    Escalate,
}

/// Routing by severity (红黄蓝三级预警).
pub fn route(severity: Severity) -> Routing {
    match severity {
        Severity::Blue => Routing::Record,
        Severity::Yellow => Routing::DutySupervisor,
        Severity::Red => Routing::Escalate,
    }
}

/// The ten default steps of domain practice, in `lang`.
pub fn default_steps(i18n: &I18n, lang: Lang) -> Vec<StepText> {
    let texts = [
        (
            tp!(i18n, lang, "patrol-step-1-title"),
            tp!(i18n, lang, "patrol-step-1-check"),
            tp!(i18n, lang, "patrol-step-1-fix"),
        ),
        (
            tp!(i18n, lang, "patrol-step-2-title"),
            tp!(i18n, lang, "patrol-step-2-check"),
            tp!(i18n, lang, "patrol-step-2-fix"),
        ),
        (
            tp!(i18n, lang, "patrol-step-3-title"),
            tp!(i18n, lang, "patrol-step-3-check"),
            tp!(i18n, lang, "patrol-step-3-fix"),
        ),
        (
            tp!(i18n, lang, "patrol-step-4-title"),
            tp!(i18n, lang, "patrol-step-4-check"),
            tp!(i18n, lang, "patrol-step-4-fix"),
        ),
        (
            tp!(i18n, lang, "patrol-step-5-title"),
            tp!(i18n, lang, "patrol-step-5-check"),
            tp!(i18n, lang, "patrol-step-5-fix"),
        ),
        (
            tp!(i18n, lang, "patrol-step-6-title"),
            tp!(i18n, lang, "patrol-step-6-check"),
            tp!(i18n, lang, "patrol-step-6-fix"),
        ),
        (
            tp!(i18n, lang, "patrol-step-7-title"),
            tp!(i18n, lang, "patrol-step-7-check"),
            tp!(i18n, lang, "patrol-step-7-fix"),
        ),
        (
            tp!(i18n, lang, "patrol-step-8-title"),
            tp!(i18n, lang, "patrol-step-8-check"),
            tp!(i18n, lang, "patrol-step-8-fix"),
        ),
        (
            tp!(i18n, lang, "patrol-step-9-title"),
            tp!(i18n, lang, "patrol-step-9-check"),
            tp!(i18n, lang, "patrol-step-9-fix"),
        ),
        (
            tp!(i18n, lang, "patrol-step-10-title"),
            tp!(i18n, lang, "patrol-step-10-check"),
            tp!(i18n, lang, "patrol-step-10-fix"),
        ),
    ];
    texts
        .into_iter()
        .enumerate()
        .map(|(index, (title, check, fix))| StepText {
            kind: if index == 0 { StepKind::Logins } else { StepKind::Check },
            title,
            check,
            fix,
        })
        .collect()
}

/// `title | what to check | what to do`, as typed in `/patrol step add|edit`.
pub fn parse_step_text(text: &str) -> Option<StepText> {
    let mut parts = text.split(['|', '｜']).map(str::trim);
    let title = parts.next().filter(|title| !title.is_empty())?;
    if title.chars().count() > 60 {
        return None;
    }
    Some(StepText {
        kind: StepKind::Check,
        title: title.to_owned(),
        check: parts.next().unwrap_or_default().to_owned(),
        fix: parts.next().unwrap_or_default().to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(position: i64, state: ItemState) -> Item {
        Item {
            id: position,
            patrol_id: 1,
            position,
            kind: StepKind::Check,
            title: String::new(),
            check_text: String::new(),
            fix_text: String::new(),
            store_id: None,
            state,
            ticked_by: None,
            ticked_at: None,
            note: None,
            incident_id: None,
        }
    }

    #[test]
    fn a_step_is_done_when_all_its_items_are() {
        let items =
            [item(1, ItemState::Ok), item(1, ItemState::Open), item(2, ItemState::Na), item(3, ItemState::Open)];
        assert_eq!(progress(&items), (1, 3));
        assert!(!is_complete(&items));
        assert!(is_complete(&[item(1, ItemState::Offline), item(2, ItemState::Issue)]));
    }

    #[test]
    fn findings_are_routed_by_severity() {
        assert_eq!(route(Severity::Blue), Routing::Record);
        assert_eq!(route(Severity::Yellow), Routing::DutySupervisor);
        assert_eq!(route(Severity::Red), Routing::Escalate);
    }

    #[test]
    fn step_texts_parse_with_either_bar() {
        let step = parse_step_text("直播间巡查 ｜ 是否开播 | 联系主播").expect("valid");
        assert_eq!(
            (step.title.as_str(), step.check.as_str(), step.fix.as_str()),
            ("直播间巡查", "是否开播", "联系主播")
        );
        assert!(parse_step_text(" | x").is_none());
        assert!(parse_step_text(&"长".repeat(61)).is_none());
    }
}
