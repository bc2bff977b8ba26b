//! The escalation chain: who is alerted, how, and when, while an incident goes
//! unacknowledged — read from the configuration, checked, and applied as pure decisions: who a
//! target means right now, whether a due step fires (and whether it is late), and which of its
//! actions are new for each person. The durable timers that carry it out live in `jobs`.

use std::collections::HashSet;
use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use strum::{Display, EnumString, IntoStaticStr};

use crate::domain::team::Role;

/// What a step does to each person it targets.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Display,
    EnumString,
    IntoStaticStr,
    Deserialize,
    sqlx::Type,
)]
#[strum(serialize_all = "snake_case")]
#[serde(rename_all = "snake_case")]
#[sqlx(rename_all = "snake_case")]
pub enum Action {
    /// A phone call.
    Call,
    /// A private message from the bot.
    Private,
    /// A mention in the team group, replying to the report.
    Mention,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// Whom a step alerts.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum Target {
    /// The supervisor on duty.
    Duty,
    /// The supervisor after the one on duty in the standing order, wrapping around.
    Backup,
    /// Everyone holding a role.
    Role(Role),
    /// One person by Telegram user id.
    User(i64),
}

impl Target {
    pub fn parse(text: &str) -> Option<Target> {
        match text {
            "duty" => Some(Target::Duty),
            "backup" => Some(Target::Backup),
            _ => {
                if let Some(role) = text.strip_prefix("role:") {
                    return role.parse().ok().map(Target::Role);
                }
                let id = text.strip_prefix("user:")?.parse::<i64>().ok()?;
                (id > 0).then_some(Target::User(id))
            }
        }
    }
}

impl TryFrom<String> for Target {
    type Error = String;

    fn try_from(text: String) -> Result<Target, String> {
        Target::parse(&text).ok_or_else(|| {
            format!(
                "unknown target {text:?}; targets are \"duty\", \"backup\", \"role:<role>\" and \"user:<telegram id>\""
            )
        })
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Duty => f.write_str("duty"),
            Target::Backup => f.write_str("backup"),
            Target::Role(role) => write!(f, "role:{role}"),
            Target::User(id) => write!(f, "user:{id}"),
        }
    }
}

/// One step of the chain.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Counted from the report.
    #[serde(deserialize_with = "delay")]
    pub after: Duration,
    #[serde(deserialize_with = "actions")]
    pub actions: Vec<Action>,
    pub target: Target,
}

/// How failed calls are retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CallRetry {
    /// Counted from when the failure was seen.
    #[serde(deserialize_with = "delay")]
    pub after: Duration,
    /// Extra attempts after the first failed call (0 to 10).
    #[serde(deserialize_with = "retry_times")]
    pub times: u32,
}

impl Default for CallRetry {
    fn default() -> Self {
        CallRetry { after: Duration::from_secs(60), times: 1 }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Chain {
    #[serde(rename = "chain", default = "default_steps")]
    pub steps: Vec<Step>,
    #[serde(default)]
    pub call_retry: CallRetry,
}

fn default_steps() -> Vec<Step> {
    Chain::default().steps
}

impl Default for Chain {
    /// +5 min: call, private message and mention the duty supervisor; +10 min: call the backup
    /// supervisor and mention every supervisor; a failed call is retried once after 1 minute.
    fn default() -> Self {
        Chain {
            steps: vec![
                Step {
                    after: Duration::from_secs(5 * 60),
                    actions: vec![Action::Call, Action::Private, Action::Mention],
                    target: Target::Duty,
                },
                Step { after: Duration::from_secs(10 * 60), actions: vec![Action::Call], target: Target::Backup },
                Step {
                    after: Duration::from_secs(10 * 60),
                    actions: vec![Action::Mention],
                    target: Target::Role(Role::Supervisor),
                },
            ],
            call_retry: CallRetry::default(),
        }
    }
}

/// Parses a delay written like `5m`, `90s`, `1h`, `1h30m`.
pub fn parse_delay(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() || trimmed.starts_with('-') {
        return Err(format!("{text:?} is not a delay; write it like \"5m\", \"90s\" or \"1h\""));
    }
    humantime::parse_duration(trimmed)
        .map_err(|_| format!("{text:?} is not a delay; write it like \"5m\", \"90s\" or \"1h\""))
}

/// Shows a delay the way it is written in the configuration.
pub fn format_delay(delay: Duration) -> String {
    humantime::format_duration(delay).to_string().replace(' ', "")
}

/// A delay field: the same words as [`parse_delay`], with its explanation on error.
pub fn delay<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(deserializer)?;
    parse_delay(&text).map_err(serde::de::Error::custom)
}

fn actions<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<Action>, D::Error> {
    let names = Vec::<String>::deserialize(deserializer)?;
    let mut actions = Vec::new();
    for name in names {
        let action: Action = name.parse().map_err(|_| {
            serde::de::Error::custom(format!(
                "unknown action {name:?}; actions are \"call\", \"private\" and \"mention\""
            ))
        })?;
        if !actions.contains(&action) {
            actions.push(action);
        }
    }
    if actions.is_empty() {
        return Err(serde::de::Error::custom("`actions` is empty"));
    }
    Ok(actions)
}

fn retry_times<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
    let times = i64::deserialize(deserializer)?;
    u32::try_from(times).ok().filter(|times| *times <= 10).ok_or_else(|| serde::de::Error::custom("must be 0 to 10"))
}

impl Chain {
    /// A chain must have steps, and their delays never decrease.
    pub fn validate(&self) -> Result<(), String> {
        if self.steps.is_empty() {
            return Err("the chain is empty; it needs at least one step".to_owned());
        }
        for pair in self.steps.windows(2) {
            if pair[1].after < pair[0].after {
                return Err(format!(
                    "delays must never decrease: {} comes after {}",
                    format_delay(pair[1].after),
                    format_delay(pair[0].after)
                ));
            }
        }
        Ok(())
    }
}

/// What the floor looks like when a step fires: enough to resolve any target.
pub struct Floor<'a> {
    pub on_duty: Option<i64>,
    /// Supervisors in their standing order (configuration first, then grants in order).
    pub supervisors: &'a [i64],
    /// Everyone holding the role a `role:` target names (read for that step).
    pub role_holders: &'a [i64],
}

/// The people a target means right now, without repeats. Empty when it means nobody.
pub fn resolve(target: &Target, floor: &Floor<'_>) -> Vec<i64> {
    let mut people = match target {
        Target::Duty => floor.on_duty.into_iter().collect(),
        Target::Backup => backup_of(floor.on_duty, floor.supervisors).into_iter().collect(),
        Target::Role(_) => floor.role_holders.to_vec(),
        Target::User(id) => vec![*id],
    };
    let mut seen = HashSet::new();
    people.retain(|id| seen.insert(*id));
    people
}

/// The supervisor after the one on duty, wrapping around; nobody when there is no other.
pub fn backup_of(on_duty: Option<i64>, supervisors: &[i64]) -> Option<i64> {
    let position = on_duty.and_then(|duty| supervisors.iter().position(|id| *id == duty));
    let candidate = match position {
        Some(at) => supervisors.get((at + 1) % supervisors.len()).copied(),
        // The duty supervisor is not in the list (or nobody is on duty): the first is next.
        None => supervisors.first().copied(),
    };
    candidate.filter(|id| Some(*id) != on_duty)
}

/// A step that fires this much after its due time (a restart, a busy machine) is marked late.
pub const LATE_AFTER: chrono::Duration = chrono::Duration::seconds(2);

/// What a due step does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StepDecision {
    /// Someone acknowledged or resolved the incident: nothing more.
    Stop,
    /// The step fires. `late` is how far past its due time, when that is notable; `todo` the
    /// (person, action) pairs nobody did yet — empty with `nobody` when the target means nobody.
    Fire { late: Option<chrono::Duration>, nobody: bool, todo: Vec<(i64, Action)> },
}

/// Whether a due step fires, is late, or stops; and which of its actions are new. A step
/// repeats nothing an earlier step already did to the same person.
pub fn decide_step(
    step: &Step,
    awaits_response: bool,
    due_at: DateTime<Utc>,
    now: DateTime<Utc>,
    people: &[i64],
    done: &HashSet<(i64, Action)>,
) -> StepDecision {
    if !awaits_response {
        return StepDecision::Stop;
    }
    let lateness = now - due_at;
    let late = (lateness > LATE_AFTER).then_some(lateness);
    let mut todo = Vec::new();
    for action in &step.actions {
        for person in people {
            if !done.contains(&(*person, *action)) && !todo.contains(&(*person, *action)) {
                todo.push((*person, *action));
            }
        }
    }
    StepDecision::Fire { late, nobody: people.is_empty(), todo }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn chain(text: &str) -> Result<Chain, String> {
        let chain: Chain = toml::from_str(text).map_err(|error| error.to_string())?;
        chain.validate()?;
        Ok(chain)
    }

    #[test]
    fn the_documented_chain_parses() {
        let parsed = chain(
            r#"
            chain = [
              { after = "5m",  actions = ["call", "private", "mention"], target = "duty" },
              { after = "10m", actions = ["call"], target = "backup" },
              { after = "10m", actions = ["mention"], target = "role:supervisor" },
            ]
            call_retry = { after = "1m", times = 1 }
            "#,
        )
        .expect("valid chain");
        assert_eq!(parsed, Chain::default());
    }

    #[test]
    fn delays_in_seconds_and_hours_work() {
        assert_eq!(parse_delay("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_delay("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_delay("1h30m"), Ok(Duration::from_secs(5400)));
        assert!(parse_delay("five minutes").is_err());
        assert!(parse_delay("-5m").is_err());
        assert_eq!(format_delay(Duration::from_secs(300)), "5m");
    }

    #[test]
    fn empty_decreasing_and_unknown_chains_are_refused() {
        assert!(chain("chain = []").unwrap_err().contains("empty"));
        let decreasing = r#"chain = [ { after = "10m", actions = ["call"], target = "duty" },
                                      { after = "5m", actions = ["call"], target = "backup" } ]"#;
        assert!(chain(decreasing).unwrap_err().contains("never decrease"));
        let unknown_action = r#"chain = [ { after = "5m", actions = ["fax"], target = "duty" } ]"#;
        assert!(chain(unknown_action).unwrap_err().contains("unknown action"));
        let unknown_target = r#"chain = [ { after = "5m", actions = ["call"], target = "boss" } ]"#;
        assert!(chain(unknown_target).unwrap_err().contains("unknown target"));
        let unknown_key = r#"chain = [ { after = "5m", actions = ["call"], target = "duty", when = "now" } ]"#;
        assert!(chain(unknown_key).unwrap_err().contains("unknown field"));
        let bad_delay = r#"chain = [ { after = "soon", actions = ["call"], target = "duty" } ]"#;
        assert!(chain(bad_delay).unwrap_err().contains("not a delay"));
        let bad_retry = r#"call_retry = { after = "1m", times = 11 }"#;
        assert!(chain(bad_retry).unwrap_err().contains("0 to 10"));
    }

    #[test]
    fn targets_resolve_to_people() {
        let supervisors = [10, 11, 12];
        let floor = Floor { on_duty: Some(11), supervisors: &supervisors, role_holders: &[30, 31, 30] };
        assert_eq!(resolve(&Target::Duty, &floor), vec![11]);
        assert_eq!(resolve(&Target::Backup, &floor), vec![12]);
        assert_eq!(resolve(&Target::Role(Role::Ops), &floor), vec![30, 31]);
        let nobody = Floor { role_holders: &[], ..floor };
        assert_eq!(resolve(&Target::Role(Role::It), &nobody), Vec::<i64>::new());
        assert_eq!(resolve(&Target::User(99), &floor), vec![99]);
    }

    #[test]
    fn the_backup_wraps_around_and_is_never_the_duty_supervisor() {
        assert_eq!(backup_of(Some(12), &[10, 11, 12]), Some(10));
        assert_eq!(backup_of(Some(10), &[10]), None);
        assert_eq!(backup_of(None, &[10, 11]), Some(10));
        assert_eq!(backup_of(Some(99), &[10, 11]), Some(10));
        assert_eq!(backup_of(Some(10), &[]), None);
    }

    #[test]
    fn targets_parse() {
        assert_eq!(Target::parse("role:ops"), Some(Target::Role(Role::Ops)));
        assert_eq!(Target::parse("user:123"), Some(Target::User(123)));
        assert_eq!(Target::parse("user:abc"), None);
        assert_eq!(Target::parse("role:boss"), None);
    }

    fn at(seconds: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 1, 5, 0).single().expect("valid") + chrono::Duration::seconds(seconds)
    }

    #[test]
    fn a_step_fires_on_time_late_or_not_at_all() {
        let step = Chain::default().steps[0].clone();
        let none = HashSet::new();
        assert_eq!(decide_step(&step, false, at(0), at(0), &[11], &none), StepDecision::Stop);
        let StepDecision::Fire { late, nobody, todo } = decide_step(&step, true, at(0), at(1), &[11], &none) else {
            panic!("fires")
        };
        assert_eq!((late, nobody), (None, false));
        assert_eq!(todo, vec![(11, Action::Call), (11, Action::Private), (11, Action::Mention)]);
        let StepDecision::Fire { late, .. } = decide_step(&step, true, at(0), at(600), &[11], &none) else {
            panic!("fires")
        };
        assert_eq!(late, Some(chrono::Duration::seconds(600)));
        let StepDecision::Fire { nobody, todo, .. } = decide_step(&step, true, at(0), at(0), &[], &none) else {
            panic!("fires")
        };
        assert!(nobody && todo.is_empty());
    }

    #[test]
    fn a_step_repeats_nothing_an_earlier_step_did_to_the_same_person() {
        let step = Step {
            after: Duration::from_secs(600),
            actions: vec![Action::Call, Action::Mention],
            target: Target::Backup,
        };
        let done: HashSet<(i64, Action)> = [(11, Action::Call)].into_iter().collect();
        let StepDecision::Fire { todo, .. } = decide_step(&step, true, at(0), at(0), &[11, 12], &done) else {
            panic!("fires")
        };
        assert_eq!(todo, vec![(12, Action::Call), (11, Action::Mention), (12, Action::Mention)]);
    }
}
