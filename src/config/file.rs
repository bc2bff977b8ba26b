//! The configuration file as serde-derived structs. Unknown keys are refused; every value is
//! checked as it is read, and an error names the path of its key.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::Duration;

use chrono_tz::Tz;
use serde::{Deserialize, Deserializer};
use url::Url;

use super::limits::{Limits, Rate};
use super::{ConfigError, PatrolFile, TeamConfig, Voices};
use crate::domain::escalation::{Chain, delay};
use crate::domain::schedule::{Days, LocalTime, Schedule};
use crate::i18n::Lang;

/// The whole file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct File {
    #[serde(default, deserialize_with = "timezone")]
    timezone: Option<Tz>,
    #[serde(default, deserialize_with = "language")]
    language: Option<Lang>,
    #[serde(default, deserialize_with = "user_ids")]
    supervisors: Vec<i64>,
    database_url: Option<String>,
    escalation: Option<Chain>,
    #[serde(default)]
    teams: BTreeMap<String, TeamFile>,
    #[serde(default)]
    phone: PhoneFile,
    #[serde(default)]
    telegram: TelegramFile,
}

/// `[teams.<name>]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TeamFile {
    escalation: Option<Chain>,
    #[serde(default, deserialize_with = "timezone")]
    timezone: Option<Tz>,
    patrol: Option<PatrolTable>,
}

/// `patrol = { at, days, deadline }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PatrolTable {
    #[serde(default = "default_at", deserialize_with = "local_time")]
    at: LocalTime,
    #[serde(default = "every_day", deserialize_with = "days")]
    days: Days,
    #[serde(default, deserialize_with = "optional_local_time")]
    deadline: Option<LocalTime>,
}

fn default_at() -> LocalTime {
    LocalTime { hour: 8, minute: 30 }
}

fn every_day() -> Days {
    Days::EVERY_DAY
}

/// Which phone provider the file asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum Provider {
    Twilio,
    Webhook,
    None,
}

/// `[phone]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PhoneFile {
    pub provider: Option<Provider>,
    #[serde(default, deserialize_with = "optional_http_url")]
    pub webhook_url: Option<Url>,
    voice_zh: Option<String>,
    voice_en: Option<String>,
    #[serde(default, deserialize_with = "ring_timeout")]
    pub ring_timeout: Option<Duration>,
}

impl PhoneFile {
    pub fn voices(&self) -> Voices {
        let defaults = Voices::default();
        Voices { zh: self.voice_zh.clone().unwrap_or(defaults.zh), en: self.voice_en.clone().unwrap_or(defaults.en) }
    }
}

/// `[telegram]`: the sending limits. Rates may not exceed Telegram's documented ones (a
/// higher value would only earn 429 answers).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TelegramFile {
    #[serde(default, deserialize_with = "per_second")]
    chat_per_second: Option<f64>,
    #[serde(default, deserialize_with = "burst")]
    chat_burst: Option<u32>,
    #[serde(default, deserialize_with = "per_minute_in_group")]
    group_per_minute: Option<f64>,
    #[serde(default, deserialize_with = "group_burst")]
    group_burst: Option<u32>,
    #[serde(default, deserialize_with = "overall_per_second")]
    overall_per_second: Option<f64>,
    #[serde(default, deserialize_with = "overall_burst")]
    overall_burst: Option<u32>,
    #[serde(default, deserialize_with = "edit_spacing")]
    edit_spacing: Option<Duration>,
}

impl TelegramFile {
    fn limits(&self) -> Limits {
        let defaults = Limits::default();
        let rate = |default: Rate, count: Option<f64>, burst: Option<u32>| Rate {
            count: count.unwrap_or(default.count),
            burst: burst.unwrap_or(default.burst),
            ..default
        };
        Limits {
            per_chat: rate(defaults.per_chat, self.chat_per_second, self.chat_burst),
            per_group: rate(defaults.per_group, self.group_per_minute, self.group_burst),
            overall: rate(defaults.overall, self.overall_per_second, self.overall_burst),
            edit_spacing: self.edit_spacing.unwrap_or(defaults.edit_spacing),
        }
    }
}

/// What the file settles, checked.
pub(super) struct Settings {
    pub timezone: Tz,
    pub language: Lang,
    pub supervisors: Vec<i64>,
    pub database_url: Option<String>,
    pub escalation: Chain,
    pub teams: BTreeMap<String, TeamConfig>,
    pub phone: PhoneFile,
    pub limits: Limits,
}

/// Reads the file's text, naming the key of the first bad value.
pub(super) fn parse(text: &str, file_name: &str) -> Result<File, ConfigError> {
    let deserializer = toml::de::Deserializer::parse(text)
        .map_err(|error| ConfigError::new(file_name, format!("not valid TOML: {}", error.message())))?;
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let message = error.inner().message().to_owned();
        // The path names the bad key itself, an unknown one included.
        let path = error.path().to_string();
        let key = if path == "." { file_name.to_owned() } else { path };
        ConfigError::new(key, message)
    })
}

impl File {
    /// Checks what needs the whole of a table: each chain, and each patrol's window.
    pub(super) fn validate(self) -> Result<Settings, ConfigError> {
        let escalation = self.escalation.unwrap_or_default();
        escalation.validate().map_err(|message| ConfigError::new("escalation", message))?;
        let mut teams = BTreeMap::new();
        for (name, team) in self.teams {
            if let Some(chain) = &team.escalation {
                chain.validate().map_err(|message| ConfigError::new(format!("teams.{name}.escalation"), message))?;
            }
            let patrol = match team.patrol {
                Some(table) => {
                    // The zone does not change which deadlines are valid: later the same day.
                    Schedule::new(table.at, table.days, table.deadline, chrono_tz::UTC)
                        .map_err(|error| ConfigError::new(format!("teams.{name}.patrol"), error.to_string()))?;
                    Some(PatrolFile { at: table.at, days: table.days, deadline: table.deadline })
                }
                None => None,
            };
            teams.insert(name, TeamConfig { escalation: team.escalation, timezone: team.timezone, patrol });
        }
        Ok(Settings {
            timezone: self.timezone.unwrap_or(chrono_tz::Asia::Shanghai),
            language: self.language.unwrap_or(Lang::ZhCn),
            supervisors: self.supervisors,
            database_url: self.database_url,
            escalation,
            teams,
            limits: self.telegram.limits(),
            phone: self.phone,
        })
    }
}

fn timezone<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Tz>, D::Error> {
    let text = String::deserialize(deserializer)?;
    Tz::from_str(&text).map(Some).map_err(|_| {
        serde::de::Error::custom(format!("unknown time zone {text:?}; use an IANA name such as \"Asia/Shanghai\""))
    })
}

fn language<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Lang>, D::Error> {
    let text = String::deserialize(deserializer)?;
    Lang::parse(&text)
        .map(Some)
        .ok_or_else(|| serde::de::Error::custom(format!("unknown language {text:?}; use \"zh-CN\" or \"en\"")))
}

fn user_ids<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<i64>, D::Error> {
    let items = match toml::Value::deserialize(deserializer)? {
        toml::Value::Array(items) => items,
        other => {
            return Err(serde::de::Error::custom(format!(
                "expected a list of Telegram user ids, found {}",
                other.type_str()
            )));
        }
    };
    let mut ids = Vec::with_capacity(items.len());
    for item in items {
        match item.as_integer() {
            Some(id) if id > 0 => {
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
            _ => {
                return Err(serde::de::Error::custom(format!(
                    "{item} is not a Telegram user id (a positive number; /whoami shows yours)"
                )));
            }
        }
    }
    Ok(ids)
}

fn local_time<'de, D: Deserializer<'de>>(deserializer: D) -> Result<LocalTime, D::Error> {
    LocalTime::parse(&String::deserialize(deserializer)?).map_err(serde::de::Error::custom)
}

fn optional_local_time<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<LocalTime>, D::Error> {
    local_time(deserializer).map(Some)
}

fn days<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Days, D::Error> {
    Days::parse(&String::deserialize(deserializer)?).map_err(serde::de::Error::custom)
}

fn optional_http_url<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Url>, D::Error> {
    http_url(&String::deserialize(deserializer)?).map(Some).map_err(serde::de::Error::custom)
}

fn ring_timeout<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Duration>, D::Error> {
    let timeout = delay(deserializer)?;
    if !(5..=600).contains(&timeout.as_secs()) {
        return Err(serde::de::Error::custom("between 5s and 10m"));
    }
    Ok(Some(timeout))
}

fn edit_spacing<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Duration>, D::Error> {
    let spacing = delay(deserializer)?;
    if spacing > Duration::from_secs(60) {
        return Err(serde::de::Error::custom("at most 1m"));
    }
    Ok(Some(spacing))
}

/// A rate above 0 and at most `max`.
fn rate_at_most<'de, D: Deserializer<'de>>(deserializer: D, max: f64) -> Result<Option<f64>, D::Error> {
    let number = f64::deserialize(deserializer)?;
    if !(number > 0.0 && number <= max) {
        return Err(serde::de::Error::custom(format!("expected a number above 0 and at most {max}")));
    }
    Ok(Some(number))
}

/// A burst of 1 to `max` messages.
fn burst_at_most<'de, D: Deserializer<'de>>(deserializer: D, max: u32) -> Result<Option<u32>, D::Error> {
    let burst = i64::deserialize(deserializer)?;
    u32::try_from(burst)
        .ok()
        .filter(|burst| (1..=max).contains(burst))
        .map(Some)
        .ok_or_else(|| serde::de::Error::custom(format!("expected a whole number from 1 to {max}")))
}

fn per_second<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<f64>, D::Error> {
    rate_at_most(deserializer, 1.0)
}

fn per_minute_in_group<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<f64>, D::Error> {
    rate_at_most(deserializer, 20.0)
}

fn overall_per_second<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<f64>, D::Error> {
    rate_at_most(deserializer, 30.0)
}

fn burst<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u32>, D::Error> {
    burst_at_most(deserializer, 30)
}

fn group_burst<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u32>, D::Error> {
    burst_at_most(deserializer, 20)
}

fn overall_burst<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u32>, D::Error> {
    burst_at_most(deserializer, 30)
}

/// An `http://` or `https://` URL with a host.
pub(super) fn http_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text.trim()).map_err(|error| format!("not a URL ({error})"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err("expected an http:// or https:// URL with a host".to_owned());
    }
    Ok(url)
}
