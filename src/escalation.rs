//! The escalation chain: who is alerted, how, and when, while a store anomaly goes
//! unacknowledged. Pure rules only — parsing and checking the configured chain, resolving a
//! step's target to people, describing the next step — so the five-minute rule is tested
//! without Telegram, a database or a clock. The durable timers that carry it out live in
//! [`crate::scheduler`].

use std::fmt;
use std::time::Duration;

use crate::team::Role;

/// What a step does to each person it targets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
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
        match self {
            Action::Call => "call",
            Action::Private => "private",
            Action::Mention => "mention",
        }
    }

    pub fn parse(text: &str) -> Option<Action> {
        match text {
            "call" => Some(Action::Call),
            "private" => Some(Action::Private),
            "mention" => Some(Action::Mention),
            _ => None,
        }
    }
}

/// Whom a step alerts.
#[derive(Clone, Debug, PartialEq, Eq)]
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
                    return Role::parse(role).map(Target::Role);
                }
                let id = text.strip_prefix("user:")?.parse::<i64>().ok()?;
                (id > 0).then_some(Target::User(id))
            }
        }
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
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// Counted from the report.
    pub after: Duration,
    pub actions: Vec<Action>,
    pub target: Target,
}

/// How failed calls are retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallRetry {
    /// Counted from when the failure was seen.
    pub after: Duration,
    /// Extra attempts after the first failed call.
    pub times: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chain {
    pub steps: Vec<Step>,
    pub call_retry: CallRetry,
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
            call_retry: CallRetry { after: Duration::from_secs(60), times: 1 },
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

impl Chain {
    /// Reads a chain from its TOML table (`chain = [...]`, `call_retry = {...}`), checking it.
    /// Errors name the offending entry.
    pub fn from_toml(table: &toml::Table) -> Result<Chain, String> {
        let mut chain = Chain::default();
        for key in table.keys() {
            if key != "chain" && key != "call_retry" {
                return Err(format!("unknown key `{key}`; expected chain and call_retry"));
            }
        }
        if let Some(value) = table.get("chain") {
            let entries = value.as_array().ok_or("`chain` must be a list of steps")?;
            let mut steps = Vec::with_capacity(entries.len());
            for (index, entry) in entries.iter().enumerate() {
                steps.push(parse_step(entry).map_err(|message| format!("chain step {}: {message}", index + 1))?);
            }
            chain.steps = steps;
        }
        if let Some(value) = table.get("call_retry") {
            let retry = value.as_table().ok_or("`call_retry` must be a table like { after = \"1m\", times = 1 }")?;
            for key in retry.keys() {
                if key != "after" && key != "times" {
                    return Err(format!("call_retry: unknown key `{key}`; expected after and times"));
                }
            }
            if let Some(after) = retry.get("after") {
                let text = after.as_str().ok_or("call_retry.after must be a string like \"1m\"")?;
                chain.call_retry.after = parse_delay(text).map_err(|message| format!("call_retry.after: {message}"))?;
            }
            if let Some(times) = retry.get("times") {
                let times =
                    times.as_integer().filter(|n| (0..=10).contains(n)).ok_or("call_retry.times must be 0 to 10")?;
                chain.call_retry.times = u32::try_from(times).map_err(|_| "call_retry.times must be 0 to 10")?;
            }
        }
        chain.validate()?;
        Ok(chain)
    }

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

fn parse_step(entry: &toml::Value) -> Result<Step, String> {
    let table =
        entry.as_table().ok_or("a step is a table like { after = \"5m\", actions = [\"call\"], target = \"duty\" }")?;
    for key in table.keys() {
        if !matches!(key.as_str(), "after" | "actions" | "target") {
            return Err(format!("unknown key `{key}`; a step has after, actions and target"));
        }
    }
    let after = table.get("after").and_then(toml::Value::as_str).ok_or("missing `after` (like \"5m\")")?;
    let after = parse_delay(after)?;
    let actions_value = table.get("actions").and_then(toml::Value::as_array).ok_or("missing `actions` (a list)")?;
    let mut actions = Vec::new();
    for action in actions_value {
        let name = action.as_str().unwrap_or_default();
        let action = Action::parse(name)
            .ok_or_else(|| format!("unknown action {action}; actions are \"call\", \"private\" and \"mention\""))?;
        if !actions.contains(&action) {
            actions.push(action);
        }
    }
    if actions.is_empty() {
        return Err("`actions` is empty".to_owned());
    }
    let target = table.get("target").and_then(toml::Value::as_str).ok_or("missing `target`")?;
    let target = Target::parse(target).ok_or_else(|| {
        format!(
            "unknown target {target:?}; targets are \"duty\", \"backup\", \"role:<role>\" and \"user:<telegram id>\""
        )
    })?;
    Ok(Step { after, actions, target })
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
    let mut seen = std::collections::HashSet::new();
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

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> toml::Table {
        toml::from_str(text).expect("valid toml")
    }

    #[test]
    fn the_documented_chain_parses() {
        let chain = Chain::from_toml(&table(
            r#"
            chain = [
              { after = "5m",  actions = ["call", "private", "mention"], target = "duty" },
              { after = "10m", actions = ["call"], target = "backup" },
              { after = "10m", actions = ["mention"], target = "role:supervisor" },
            ]
            call_retry = { after = "1m", times = 1 }
            "#,
        ))
        .expect("valid chain");
        assert_eq!(chain, Chain::default());
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
        assert!(Chain::from_toml(&table("chain = []")).unwrap_err().contains("empty"));
        let decreasing = r#"chain = [ { after = "10m", actions = ["call"], target = "duty" },
                                      { after = "5m", actions = ["call"], target = "backup" } ]"#;
        assert!(Chain::from_toml(&table(decreasing)).unwrap_err().contains("never decrease"));
        let unknown_action = r#"chain = [ { after = "5m", actions = ["fax"], target = "duty" } ]"#;
        assert!(Chain::from_toml(&table(unknown_action)).unwrap_err().contains("unknown action"));
        let unknown_target = r#"chain = [ { after = "5m", actions = ["call"], target = "boss" } ]"#;
        assert!(Chain::from_toml(&table(unknown_target)).unwrap_err().contains("unknown target"));
        let unknown_key = r#"chain = [ { after = "5m", actions = ["call"], target = "duty", when = "now" } ]"#;
        assert!(Chain::from_toml(&table(unknown_key)).unwrap_err().contains("unknown key"));
        let bad_delay = r#"chain = [ { after = "soon", actions = ["call"], target = "duty" } ]"#;
        assert!(Chain::from_toml(&table(bad_delay)).unwrap_err().contains("not a delay"));
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
}
