//! Incidents (异常记录) as values: what kind, how severe, where it stands, and what happened to
//! it; and the decisions about its lifecycle — who may acknowledge or resolve, and which of two
//! racing acknowledgements wins.

use chrono::{DateTime, Utc};
use strum::{Display, EnumIter, EnumString, IntoEnumIterator, IntoStaticStr};

use crate::domain::team::Role;
use crate::i18n::{I18n, Lang};
use crate::tp;

/// How far an incident reaches: blue the agent handles, yellow the supervisor steps in, red
/// needs other departments (红黄蓝三级预警). The one-letter forms are what buttons posted by
/// earlier versions carry; they still parse.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Display, EnumString, EnumIter, IntoStaticStr, sqlx::Type)]
#[strum(serialize_all = "snake_case")]
#[sqlx(rename_all = "snake_case")]
pub enum Severity {
    #[strum(to_string = "blue", serialize = "b")]
    Blue,
    #[strum(to_string = "yellow", serialize = "y")]
    Yellow,
    #[strum(to_string = "red", serialize = "r")]
    Red,
}

impl Severity {
    pub fn icon(self) -> &'static str {
        match self {
            Severity::Blue => "🔵",
            Severity::Yellow => "🟡",
            Severity::Red => "🔴",
        }
    }

    pub fn label(self, i18n: &I18n, lang: Lang) -> String {
        match self {
            Severity::Blue => tp!(i18n, lang, "severity-blue"),
            Severity::Yellow => tp!(i18n, lang, "severity-yellow"),
            Severity::Red => tp!(i18n, lang, "severity-red"),
        }
    }
}

/// What an incident is. Its stored name also names its texts (`incident-title-<name>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Display, EnumString, IntoStaticStr, sqlx::Type)]
#[strum(serialize_all = "snake_case")]
#[sqlx(rename_all = "snake_case")]
pub enum IncidentKind {
    /// A store anomaly reported by an agent (店铺异常).
    StoreAnomaly,
    /// Something found on the morning patrol.
    PatrolIssue,
    /// A store account found offline on the morning patrol.
    AccountOffline,
}

impl IncidentKind {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// What is wrong with the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Display, EnumString, EnumIter, IntoStaticStr, sqlx::Type)]
#[strum(serialize_all = "snake_case", ascii_case_insensitive)]
#[sqlx(rename_all = "snake_case")]
pub enum AnomalyKind {
    #[strum(to_string = "coupon", serialize = "优惠券")]
    Coupon,
    #[strum(to_string = "price", serialize = "价格", serialize = "错价")]
    Price,
    #[strum(to_string = "stock", serialize = "库存")]
    Stock,
    #[strum(to_string = "page", serialize = "页面", serialize = "详情页")]
    Page,
    #[strum(to_string = "other", serialize = "其他")]
    Other,
}

impl AnomalyKind {
    pub fn all() -> impl Iterator<Item = AnomalyKind> {
        AnomalyKind::iter()
    }

    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// English names and the Chinese aliases agents type.
    pub fn parse(text: &str) -> Option<AnomalyKind> {
        text.trim().parse().ok()
    }

    pub fn label(self, i18n: &I18n, lang: Lang) -> String {
        match self {
            AnomalyKind::Coupon => tp!(i18n, lang, "kind-coupon"),
            AnomalyKind::Price => tp!(i18n, lang, "kind-price"),
            AnomalyKind::Stock => tp!(i18n, lang, "kind-stock"),
            AnomalyKind::Page => tp!(i18n, lang, "kind-page"),
            AnomalyKind::Other => tp!(i18n, lang, "kind-other"),
        }
    }
}

/// The longest description accepted (a Telegram message is at most 4,096 characters anyway).
pub const DESCRIPTION_LIMIT: usize = 4096;

/// The description shown in a relay is cut here; the full text is one command away.
pub const RELAY_TEXT_LIMIT: usize = 1000;

/// The detail of a call placed again without knowing whether the first attempt rang.
pub const POSSIBLY_REPEATED: &str = "possibly-repeated";

/// The detail of a call the phone service could not take yet: "retry-at 10:07".
pub const RETRY_AT: &str = "retry-at";

/// Who may acknowledge and resolve.
pub const RESPONDERS: &[Role] = &[Role::Ops, Role::Supervisor];

/// An incident as stored.
#[derive(Clone, Debug)]
pub struct Incident {
    pub id: i64,
    pub kind: IncidentKind,
    pub severity: Severity,
    pub team_id: i64,
    pub store_id: Option<i64>,
    pub anomaly_kind: Option<AnomalyKind>,
    pub description: String,
    pub reporter_id: i64,
    pub reported_at: DateTime<Utc>,
    pub report_chat_id: Option<i64>,
    pub report_message_id: Option<i64>,
    pub team_chat_id: Option<i64>,
    pub team_message_id: Option<i64>,
    pub ops_chat_id: Option<i64>,
    pub ops_message_id: Option<i64>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub acknowledged_by: Option<i64>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolved_by: Option<i64>,
    pub resolution: Option<String>,
}

/// Where an incident stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Reported; nobody has acknowledged it yet.
    Waiting,
    Acknowledged,
    Resolved,
}

/// What an acknowledgement or a resolution comes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// Someone was first.
    AlreadyDone,
    NotFound,
}

impl Incident {
    pub fn stage(&self) -> Stage {
        match (self.acknowledged_at, self.resolved_at) {
            (_, Some(_)) => Stage::Resolved,
            (Some(_), None) => Stage::Acknowledged,
            (None, None) => Stage::Waiting,
        }
    }

    pub fn is_open(&self) -> bool {
        self.resolved_at.is_none()
    }

    /// A store anomaly, rather than something found on patrol.
    pub fn is_store_anomaly(&self) -> bool {
        self.kind == IncidentKind::StoreAnomaly
    }

    /// Whether escalation still has someone to wake: nobody acknowledged or resolved it.
    pub fn awaits_response(&self) -> bool {
        self.stage() == Stage::Waiting
    }

    /// What the incident is called: 店铺异常, 巡店问题, … (plain text).
    pub fn title(&self, i18n: &I18n, lang: Lang) -> String {
        i18n.plain(lang, &format!("incident-title-{}", self.kind.as_str()), &[])
    }

    /// What is wrong, when the report named it (a store anomaly's kind).
    pub fn problem(&self, i18n: &I18n, lang: Lang) -> Option<String> {
        self.anomaly_kind.map(|kind| kind.label(i18n, lang))
    }

    /// Who the incident waits for: a store anomaly or a red warning goes to operations, a
    /// yellow one to the supervisor, a blue one stays with the team.
    pub fn audience(&self) -> Audience {
        match (self.kind, self.severity) {
            (IncidentKind::StoreAnomaly, _) | (_, Severity::Red) => Audience::Operations,
            (_, Severity::Yellow) => Audience::Supervisor,
            (_, Severity::Blue) => Audience::Team,
        }
    }
}

/// Who an incident waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Audience {
    Operations,
    Supervisor,
    Team,
}

/// Whether an acknowledgement changes anything: only the first one does. Applied inside a
/// transaction that holds the write lock, so of two racing presses exactly one is first.
pub fn acknowledgement(incident: Option<&Incident>) -> Outcome {
    match incident.map(Incident::stage) {
        None => Outcome::NotFound,
        Some(Stage::Waiting) => Outcome::Done,
        Some(Stage::Acknowledged | Stage::Resolved) => Outcome::AlreadyDone,
    }
}

/// Whether a resolution changes anything: only while the incident is open. Resolving also
/// acknowledges one nobody had acknowledged.
pub fn resolution(incident: Option<&Incident>) -> Outcome {
    match incident.map(Incident::stage) {
        None => Outcome::NotFound,
        Some(Stage::Waiting | Stage::Acknowledged) => Outcome::Done,
        Some(Stage::Resolved) => Outcome::AlreadyDone,
    }
}

/// What can happen to an incident; stored by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Display, EnumString, IntoStaticStr, sqlx::Type)]
#[strum(serialize_all = "snake_case")]
#[sqlx(rename_all = "snake_case")]
pub enum EventKind {
    Reported,
    Joined,
    Relayed,
    RelayFailed,
    Step,
    StepLate,
    StepNobody,
    PrivateSent,
    PrivateFailed,
    Mentioned,
    CallPlaced,
    CallAnswered,
    CallFailed,
    CallRetry,
    CallNoNumber,
    CallNoProvider,
    CallError,
    /// A call no longer needed (its incidents were acknowledged) was hung up.
    CallCancelled,
    Acknowledged,
    Resolved,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Events the live messages list under "progress": what escalation did and how it went.
    pub fn is_progress(self) -> bool {
        matches!(
            self,
            EventKind::StepNobody
                | EventKind::PrivateSent
                | EventKind::PrivateFailed
                | EventKind::Mentioned
                | EventKind::CallPlaced
                | EventKind::CallAnswered
                | EventKind::CallFailed
                | EventKind::CallNoNumber
                | EventKind::CallNoProvider
                | EventKind::CallError
                | EventKind::CallCancelled
                | EventKind::RelayFailed
        )
    }
}

/// One entry of an incident's timeline.
#[derive(Clone, Debug)]
pub struct Event {
    pub at: DateTime<Utc>,
    pub kind: EventKind,
    pub actor_id: Option<i64>,
    pub subject_id: Option<i64>,
    pub detail: Option<String>,
}

impl Event {
    /// The people a mention named, stored as "1001,1002"; None for other events, and for
    /// older mentions that stored names.
    pub fn mentioned(&self) -> Option<Vec<i64>> {
        if self.kind != EventKind::Mentioned {
            return None;
        }
        self.detail.as_deref()?.split(',').map(|id| id.trim().parse::<i64>().ok()).collect()
    }

    /// Everyone the event names: who did it, whom it concerned, whom it mentioned.
    pub fn people(&self) -> Vec<i64> {
        let mut people: Vec<i64> = [self.actor_id, self.subject_id].into_iter().flatten().collect();
        people.extend(self.mentioned().unwrap_or_default());
        people
    }
}

/// `#12` or `12` as typed after `/ack`, `/resolve`, `/incident`.
pub fn parse_number(text: &str) -> Option<i64> {
    text.trim().trim_start_matches('#').parse::<i64>().ok().filter(|n| *n > 0)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn incident(acknowledged: bool, resolved: bool) -> Incident {
        let at = Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).single().expect("valid");
        Incident {
            id: 1,
            kind: IncidentKind::StoreAnomaly,
            severity: Severity::Yellow,
            team_id: 1,
            store_id: Some(1),
            anomaly_kind: Some(AnomalyKind::Price),
            description: "标错价".into(),
            reporter_id: 2001,
            reported_at: at,
            report_chat_id: None,
            report_message_id: None,
            team_chat_id: None,
            team_message_id: None,
            ops_chat_id: None,
            ops_message_id: None,
            acknowledged_at: acknowledged.then_some(at),
            acknowledged_by: acknowledged.then_some(3001),
            resolved_at: resolved.then_some(at),
            resolved_by: resolved.then_some(3001),
            resolution: None,
        }
    }

    #[test]
    fn the_first_acknowledgement_wins_and_later_ones_change_nothing() {
        assert_eq!(acknowledgement(Some(&incident(false, false))), Outcome::Done);
        assert_eq!(acknowledgement(Some(&incident(true, false))), Outcome::AlreadyDone);
        assert_eq!(acknowledgement(Some(&incident(true, true))), Outcome::AlreadyDone);
        assert_eq!(acknowledgement(None), Outcome::NotFound);
    }

    #[test]
    fn an_open_incident_may_be_resolved_once() {
        assert_eq!(resolution(Some(&incident(false, false))), Outcome::Done);
        assert_eq!(resolution(Some(&incident(true, false))), Outcome::Done);
        assert_eq!(resolution(Some(&incident(true, true))), Outcome::AlreadyDone);
        assert_eq!(resolution(None), Outcome::NotFound);
    }

    #[test]
    fn kinds_parse_in_both_languages_and_stored_names_round_trip() {
        assert_eq!(AnomalyKind::parse("优惠券"), Some(AnomalyKind::Coupon));
        assert_eq!(AnomalyKind::parse("错价"), Some(AnomalyKind::Price));
        assert_eq!(AnomalyKind::parse("PRICE"), Some(AnomalyKind::Price));
        assert_eq!(AnomalyKind::parse("weather"), None);
        for kind in AnomalyKind::all() {
            assert_eq!(AnomalyKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!("call_cancelled".parse::<EventKind>(), Ok(EventKind::CallCancelled));
        assert!("bogus".parse::<EventKind>().is_err(), "an unknown stored value is an error");
        assert_eq!(IncidentKind::StoreAnomaly.to_string(), "store_anomaly");
        assert!("green".parse::<Severity>().is_err(), "no silent default for an unknown severity");
    }

    #[test]
    fn numbers_are_read_with_or_without_a_hash() {
        assert_eq!(parse_number("#12"), Some(12));
        assert_eq!(parse_number(" 7 "), Some(7));
        assert_eq!(parse_number("0"), None);
        assert_eq!(parse_number("x"), None);
    }
}
