//! Typed configuration: one optional TOML file plus environment variables.
//!
//! The file is read into serde-derived structs ([`file`]) that refuse unknown keys; the
//! environment ([`env`]) supplies secrets and overrides. Everything is validated once, at
//! start; an invalid value is reported with the path of its key (`timezone`,
//! `teams.天猫一组.patrol.at`, `TELOXIDE_TOKEN`…) and nothing starts. Secrets are wrapped in
//! [`Secret`] so that they cannot end up in a log line or an error by accident.

mod describe;
mod env;
mod file;
pub mod limits;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono_tz::Tz;
use url::Url;

pub use self::limits::{Limits, Rate};
use crate::domain::escalation::Chain;
use crate::domain::schedule::{Days, LocalTime};
use crate::i18n::Lang;

/// The default Bot API server.
pub const DEFAULT_TELEGRAM_API_URL: &str = "https://api.telegram.org";
/// The configuration file read when neither `--config` nor `FLOORBOT_CONFIG` names one.
pub const DEFAULT_CONFIG_FILE: &str = "floorbot.toml";

/// A value that must never be printed. `Debug` and `Display` show a mask.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"********\"")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("********")
    }
}

/// An invalid configuration value, named by its key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{key}`: {message}")]
pub struct ConfigError {
    pub key: String,
    pub message: String,
}

impl ConfigError {
    fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self { key: key.into(), message: message.into() }
    }
}

/// The validated configuration floorbot runs with.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file the configuration came from, if any.
    pub file: Option<PathBuf>,
    pub timezone: Tz,
    pub language: Lang,
    /// Supervisors named in the file, in order: the first is on duty until someone takes duty.
    pub supervisors: Vec<i64>,
    pub database_url: String,
    pub telegram: TelegramConfig,
    pub phone: PhoneConfig,
    /// The escalation chain for teams without their own.
    pub escalation: Chain,
    /// Per-team settings from `[teams.<name>]`, keyed by team name as written.
    pub teams: BTreeMap<String, TeamConfig>,
}

/// `[teams.<name>]`: settings for one team.
#[derive(Debug, Clone, Default)]
pub struct TeamConfig {
    /// Replaces the default chain for this team.
    pub escalation: Option<Chain>,
    /// The team's own time zone (else the floor's).
    pub timezone: Option<Tz>,
    /// The team's patrol schedule (a schedule set by `/patrol schedule` wins over it).
    pub patrol: Option<PatrolFile>,
}

/// `patrol = { at = "08:30", days = "mon-sat", deadline = "09:30" }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatrolFile {
    pub at: LocalTime,
    pub days: Days,
    pub deadline: Option<LocalTime>,
}

#[derive(Debug, Clone)]
pub struct TelegramConfig {
    /// Absent only for commands that do not talk to Telegram (`migrate`, `check-config`).
    pub token: Option<Secret>,
    pub api_url: Url,
    /// Telegram's sending limits as the outbound lane applies them (`[telegram]`).
    pub limits: Limits,
}

/// How floorbot places phone calls.
#[derive(Debug, Clone)]
pub enum PhoneConfig {
    None,
    Twilio {
        account_sid: String,
        auth_token: Secret,
        from_number: String,
        api_url: Url,
        voice: Voices,
        ring_timeout: Duration,
    },
    /// POSTs `{to, text, incident}` as JSON to a URL, for any other telephony service.
    Webhook {
        url: Url,
    },
}

/// Text-to-speech voices per language (Twilio's default voice reads no Chinese).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Voices {
    pub zh: String,
    pub en: String,
}

impl Default for Voices {
    fn default() -> Self {
        Self { zh: "Polly.Zhiyu".to_owned(), en: "Polly.Joanna".to_owned() }
    }
}

/// Where the configuration comes from: the `--config` flag, then the environment.
pub struct Sources<'a> {
    /// `--config` on the command line.
    pub config_flag: Option<PathBuf>,
    /// Reads an environment variable (a closure so tests need not touch the process env).
    pub env: &'a dyn Fn(&str) -> Option<String>,
}

impl Sources<'_> {
    fn var(&self, name: &str) -> Option<String> {
        (self.env)(name).filter(|value| !value.trim().is_empty())
    }
}

impl Config {
    /// Reads the file (if any) and the environment, validating every value.
    pub fn load(sources: &Sources<'_>) -> Result<Config, ConfigError> {
        let (file, explicit) = match (&sources.config_flag, sources.var("FLOORBOT_CONFIG")) {
            (Some(path), _) => (path.clone(), Some("--config")),
            (None, Some(path)) => (PathBuf::from(path), Some("FLOORBOT_CONFIG")),
            (None, None) => (PathBuf::from(DEFAULT_CONFIG_FILE), None),
        };
        let text = match std::fs::read_to_string(&file) {
            Ok(text) => Some(text),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound && explicit.is_none() => None,
            Err(error) => {
                return Err(ConfigError::new(
                    explicit.unwrap_or("config"),
                    format!("cannot read {}: {error}", file.display()),
                ));
            }
        };
        let file = text.as_ref().map(|_| file);
        Self::from_parts(text.as_deref(), file, sources)
    }

    /// Builds the configuration from the file's text (if any) and the environment.
    pub fn from_parts(text: Option<&str>, file: Option<PathBuf>, sources: &Sources<'_>) -> Result<Config, ConfigError> {
        let name = file.as_deref().map(Path::display).map(|d| d.to_string()).unwrap_or_default();
        let parsed = match text {
            Some(text) => file::parse(text, &name)?,
            None => file::File::default(),
        };
        let settings = parsed.validate()?;
        let database_url = env::database_url(sources, settings.database_url.as_deref(), file.as_deref())?;
        let telegram =
            TelegramConfig { token: env::token(sources)?, api_url: env::api_url(sources)?, limits: settings.limits };
        let phone = env::phone(sources, settings.phone)?;
        Ok(Config {
            file,
            timezone: settings.timezone,
            language: settings.language,
            supervisors: settings.supervisors,
            database_url,
            telegram,
            phone,
            escalation: settings.escalation,
            teams: settings.teams,
        })
    }

    /// The token, required by `floorbot run`.
    pub fn require_token(&self) -> Result<&Secret, ConfigError> {
        self.telegram.token.as_ref().ok_or_else(|| {
            ConfigError::new("TELOXIDE_TOKEN", "not set; put the token BotFather gave you in this environment variable")
        })
    }

    fn team(&self, team_name: &str) -> Option<&TeamConfig> {
        self.teams.iter().find(|(name, _)| name.to_lowercase() == team_name.to_lowercase()).map(|(_, team)| team)
    }

    /// A team's time zone: its own, else the floor's.
    pub fn timezone_for(&self, team_name: &str) -> Tz {
        self.team(team_name).and_then(|team| team.timezone).unwrap_or(self.timezone)
    }

    /// A team's patrol schedule from the file, if it has one.
    pub fn patrol_for(&self, team_name: &str) -> Option<&PatrolFile> {
        self.team(team_name).and_then(|team| team.patrol.as_ref())
    }

    /// The escalation chain for a team (its own, else the default).
    pub fn chain_for(&self, team_name: &str) -> &Chain {
        self.team(team_name).and_then(|team| team.escalation.as_ref()).unwrap_or(&self.escalation)
    }

    /// Things that will not stop floorbot but that an operator should know about.
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        if matches!(self.phone, PhoneConfig::None) {
            warnings.push(
                "no phone provider configured (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM_NUMBER, or [phone] provider = \"webhook\"): call steps will be skipped"
                    .to_owned(),
            );
        }
        if self.supervisors.is_empty() {
            warnings.push(
                "no supervisors in the configuration: unless one was claimed before, `floorbot run` logs a one-time /claim code"
                    .to_owned(),
            );
        }
        if self.file.is_none() {
            warnings.push(format!("no configuration file ({DEFAULT_CONFIG_FILE}): defaults in use"));
        }
        warnings
    }
}
