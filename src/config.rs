//! Typed configuration: one optional TOML file plus environment variables.
//!
//! Everything is validated once, at start; an invalid value is reported with the name of the
//! key (`timezone`, `TELOXIDE_TOKEN`…) and nothing starts. Secrets are wrapped in [`Secret`] so
//! that they cannot end up in a log line or an error by accident.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use std::collections::BTreeMap;
use std::time::Duration;

use chrono_tz::Tz;
use url::Url;

use crate::escalation::{Chain, format_delay, parse_delay};
use crate::i18n::Lang;
use crate::patrol::schedule::{Days, LocalTime, Schedule};
use crate::telegram::lane::{Limits, Rate};

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

impl Config {
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
        self.teams
            .iter()
            .find(|(name, _)| name.to_lowercase() == team_name.to_lowercase())
            .and_then(|(_, team)| team.escalation.as_ref())
            .unwrap_or(&self.escalation)
    }
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

/// `[phone]` in the file.
#[derive(Debug, Clone, Default)]
struct PhoneFile {
    provider: Option<String>,
    webhook_url: Option<Url>,
    voice: Voices,
    ring_timeout: Option<Duration>,
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
        let table = match text {
            Some(text) => {
                let name = file.as_deref().map(Path::display).map(|d| d.to_string()).unwrap_or_default();
                toml::from_str::<toml::Table>(text)
                    .map_err(|error| ConfigError::new(name, format!("not valid TOML: {}", error.message())))?
            }
            None => toml::Table::new(),
        };

        let mut timezone = chrono_tz::Asia::Shanghai;
        let mut language = Lang::ZhCn;
        let mut supervisors = Vec::new();
        let mut database_url = None;
        let mut escalation = Chain::default();
        let mut teams = BTreeMap::new();
        let mut phone_file = PhoneFile::default();
        let mut limits = Limits::default();
        for (key, value) in &table {
            match key.as_str() {
                "timezone" => timezone = parse_timezone(key, value)?,
                "language" => {
                    let text = expect_str(key, value)?;
                    language = Lang::parse(text).ok_or_else(|| {
                        ConfigError::new(key, format!("unknown language {text:?}; use \"zh-CN\" or \"en\""))
                    })?;
                }
                "supervisors" => supervisors = parse_user_ids(key, value)?,
                "database_url" => database_url = Some(expect_str(key, value)?.to_owned()),
                "escalation" => escalation = parse_chain(key, value)?,
                "teams" => teams = parse_teams(value)?,
                "phone" => phone_file = parse_phone(value)?,
                "telegram" => limits = parse_telegram(value)?,
                other => {
                    return Err(ConfigError::new(
                        other,
                        "unknown key; known keys are timezone, language, supervisors, database_url, escalation, teams, phone, telegram",
                    ));
                }
            }
        }

        let database_url = match sources.var("FLOORBOT_DATABASE_URL") {
            Some(url) => validate_database_url("FLOORBOT_DATABASE_URL", &url)?,
            None => match database_url {
                Some(url) => validate_database_url("database_url", &url)?,
                None => default_database_url(file.as_deref()),
            },
        };

        let token = match sources.var("TELOXIDE_TOKEN") {
            Some(token) => Some(validate_token(&token)?),
            None => None,
        };
        let api_url = match sources.var("TELOXIDE_API_URL") {
            Some(url) => validate_http_url("TELOXIDE_API_URL", &url)?,
            None => {
                Url::parse(DEFAULT_TELEGRAM_API_URL).map_err(|e| ConfigError::new("TELOXIDE_API_URL", e.to_string()))?
            }
        };

        let phone = phone_config(sources, phone_file)?;

        Ok(Config {
            file,
            timezone,
            language,
            supervisors,
            database_url,
            telegram: TelegramConfig { token, api_url, limits },
            phone,
            escalation,
            teams,
        })
    }

    /// The token, required by `floorbot run`.
    pub fn require_token(&self) -> Result<&Secret, ConfigError> {
        self.telegram.token.as_ref().ok_or_else(|| {
            ConfigError::new("TELOXIDE_TOKEN", "not set; put the token BotFather gave you in this environment variable")
        })
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

    /// The effective configuration as `check-config` prints it, secrets masked.
    pub fn describe(&self) -> String {
        let mut out = String::new();
        let file = self.file.as_ref().map(|path| path.display().to_string()).unwrap_or_else(|| "(none)".to_owned());
        out.push_str(&format!("# configuration file: {file}\n"));
        out.push_str(&format!("timezone = {:?}\n", self.timezone.name()));
        out.push_str(&format!("language = {:?}\n", self.language.tag()));
        out.push_str(&format!("supervisors = {:?}\n", self.supervisors));
        out.push_str(&format!("database_url = {:?}\n", self.database_url));
        out.push_str("\n# environment\n");
        let token = match &self.telegram.token {
            Some(token) => mask_token(token),
            None => "(not set)".to_owned(),
        };
        out.push_str(&format!("TELOXIDE_TOKEN = {token}\n"));
        out.push_str(&format!("TELOXIDE_API_URL = {}\n", self.telegram.api_url));
        let limits = &self.telegram.limits;
        out.push_str(&format!(
            "telegram limits = {}/s per chat (burst {}), {}/min per group (burst {}), {}/s overall (burst {}); edits of one message {} apart\n",
            limits.per_chat.count,
            limits.per_chat.burst,
            limits.per_group.count,
            limits.per_group.burst,
            limits.overall.count,
            limits.overall.burst,
            format_delay(limits.edit_spacing)
        ));
        match &self.phone {
            PhoneConfig::None => out.push_str("phone provider = (none)\n"),
            PhoneConfig::Twilio { account_sid, from_number, api_url, voice, ring_timeout, .. } => {
                out.push_str("phone provider = twilio\n");
                out.push_str(&format!("TWILIO_ACCOUNT_SID = {}\n", mask_tail(account_sid)));
                out.push_str("TWILIO_AUTH_TOKEN = ********\n");
                out.push_str(&format!("TWILIO_FROM_NUMBER = {}\n", crate::contact::mask_number(from_number)));
                out.push_str(&format!("TWILIO_API_URL = {api_url}\n"));
                out.push_str(&format!(
                    "voices = zh {:?}, en {:?}; ring timeout {}\n",
                    voice.zh,
                    voice.en,
                    format_delay(*ring_timeout)
                ));
            }
            PhoneConfig::Webhook { url } => {
                out.push_str("phone provider = webhook\n");
                out.push_str(&format!("webhook_url = {}://{}/…\n", url.scheme(), url.host_str().unwrap_or("")));
            }
        }
        out.push_str("\n# escalation (default chain)\n");
        out.push_str(&describe_chain(&self.escalation));
        for (name, team) in &self.teams {
            if let Some(chain) = &team.escalation {
                out.push_str(&format!("\n# escalation for team {name:?}\n"));
                out.push_str(&describe_chain(chain));
            }
        }
        out
    }
}

/// Shows only the bot id part of a token (`123456:…`), which is public anyway.
pub fn mask_token(token: &Secret) -> String {
    match token.expose().split_once(':') {
        Some((bot_id, _)) => format!("{bot_id}:********"),
        None => "********".to_owned(),
    }
}

fn mask_tail(value: &str) -> String {
    let visible: String = value.chars().take(4).collect();
    format!("{visible}********")
}

fn expect_str<'v>(key: &str, value: &'v toml::Value) -> Result<&'v str, ConfigError> {
    value.as_str().ok_or_else(|| ConfigError::new(key, format!("expected a string, found {}", value.type_str())))
}

fn parse_timezone(key: &str, value: &toml::Value) -> Result<Tz, ConfigError> {
    let text = expect_str(key, value)?;
    Tz::from_str(text).map_err(|_| {
        ConfigError::new(key, format!("unknown time zone {text:?}; use an IANA name such as \"Asia/Shanghai\""))
    })
}

fn parse_user_ids(key: &str, value: &toml::Value) -> Result<Vec<i64>, ConfigError> {
    let items = value.as_array().ok_or_else(|| {
        ConfigError::new(key, format!("expected a list of Telegram user ids, found {}", value.type_str()))
    })?;
    let mut ids = Vec::with_capacity(items.len());
    for item in items {
        match item.as_integer() {
            Some(id) if id > 0 => {
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
            _ => {
                return Err(ConfigError::new(
                    key,
                    format!("{item} is not a Telegram user id (a positive number; /whoami shows yours)"),
                ));
            }
        }
    }
    Ok(ids)
}

fn validate_database_url(key: &str, url: &str) -> Result<String, ConfigError> {
    if !url.starts_with("sqlite:") {
        return Err(ConfigError::new(key, "only SQLite is supported: use sqlite://path/to/floorbot.db"));
    }
    sqlx::sqlite::SqliteConnectOptions::from_str(url)
        .map_err(|error| ConfigError::new(key, format!("not a valid SQLite URL: {error}")))?;
    Ok(url.to_owned())
}

fn default_database_url(config_file: Option<&Path>) -> String {
    let directory = config_file.and_then(Path::parent).filter(|dir| !dir.as_os_str().is_empty());
    let path = match directory {
        Some(directory) => directory.join("floorbot.db"),
        None => PathBuf::from("floorbot.db"),
    };
    format!("sqlite://{}", path.display())
}

/// A bot token as BotFather issues it: `<digits>:<35 characters of [A-Za-z0-9_-]>`.
fn validate_token(token: &str) -> Result<Secret, ConfigError> {
    let token = token.trim();
    let valid = match token.split_once(':') {
        Some((bot_id, secret)) => {
            !bot_id.is_empty()
                && bot_id.len() <= 20
                && bot_id.bytes().all(|b| b.is_ascii_digit())
                && secret.len() >= 30
                && secret.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        }
        None => false,
    };
    if valid {
        Ok(Secret::new(token))
    } else {
        // Never repeat the value: it may be a real token pasted slightly wrong.
        Err(ConfigError::new(
            "TELOXIDE_TOKEN",
            "not a bot token; BotFather's tokens look like 123456789:AAE… (digits, a colon, then 35 letters, digits, _ or -)",
        ))
    }
}

fn validate_http_url(key: &str, text: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(text.trim()).map_err(|error| ConfigError::new(key, format!("not a URL ({error})")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(ConfigError::new(key, "expected an http:// or https:// URL with a host"));
    }
    Ok(url)
}

fn describe_chain(chain: &Chain) -> String {
    let mut out = String::new();
    for step in &chain.steps {
        let actions: Vec<&str> = step.actions.iter().map(|action| action.as_str()).collect();
        out.push_str(&format!("after {}: {} -> {}\n", format_delay(step.after), actions.join(", "), step.target));
    }
    out.push_str(&format!(
        "call_retry: {} more time(s), {} after a failed call\n",
        chain.call_retry.times,
        format_delay(chain.call_retry.after)
    ));
    out
}

fn parse_chain(key: &str, value: &toml::Value) -> Result<Chain, ConfigError> {
    let table = value.as_table().ok_or_else(|| ConfigError::new(key, "expected a table ([escalation])"))?;
    Chain::from_toml(table).map_err(|message| ConfigError::new(key, message))
}

fn parse_teams(value: &toml::Value) -> Result<BTreeMap<String, TeamConfig>, ConfigError> {
    let table = value.as_table().ok_or_else(|| ConfigError::new("teams", "expected tables like [teams.天猫一组]"))?;
    let mut teams = BTreeMap::new();
    for (name, team) in table {
        let key = format!("teams.{name}");
        let team = team.as_table().ok_or_else(|| ConfigError::new(&key, "expected a table"))?;
        let mut config = TeamConfig::default();
        for (field, value) in team {
            match field.as_str() {
                "escalation" => config.escalation = Some(parse_chain(&format!("{key}.escalation"), value)?),
                "timezone" => config.timezone = Some(parse_timezone(&format!("{key}.timezone"), value)?),
                "patrol" => config.patrol = Some(parse_patrol(&format!("{key}.patrol"), value)?),
                other => {
                    return Err(ConfigError::new(
                        format!("{key}.{other}"),
                        "unknown key; a team has: timezone, patrol, escalation",
                    ));
                }
            }
        }
        teams.insert(name.clone(), config);
    }
    Ok(teams)
}

fn parse_patrol(key: &str, value: &toml::Value) -> Result<PatrolFile, ConfigError> {
    let table = value.as_table().ok_or_else(|| {
        ConfigError::new(key, "expected { at = \"08:30\", days = \"mon-sat\", deadline = \"09:30\" }")
    })?;
    let mut at = LocalTime { hour: 8, minute: 30 };
    let mut days = Days::EVERY_DAY;
    let mut deadline = None;
    for (field, value) in table {
        let field_key = format!("{key}.{field}");
        let text = expect_str(&field_key, value)?;
        match field.as_str() {
            "at" => at = LocalTime::parse(text).map_err(|error| ConfigError::new(&field_key, error.to_string()))?,
            "days" => days = Days::parse(text).map_err(|error| ConfigError::new(&field_key, error.to_string()))?,
            "deadline" => {
                deadline =
                    Some(LocalTime::parse(text).map_err(|error| ConfigError::new(&field_key, error.to_string()))?)
            }
            _ => return Err(ConfigError::new(field_key, "unknown key; a patrol has at, days and deadline")),
        }
    }
    // The zone does not change which deadlines are valid: it must be later the same day.
    Schedule::new(at, days, deadline, chrono_tz::UTC).map_err(|error| ConfigError::new(key, error.to_string()))?;
    Ok(PatrolFile { at, days, deadline })
}

/// `[telegram]`: the sending limits. Telegram's documented ones are the defaults; a floor
/// may only lower them (a higher value would earn 429 answers).
fn parse_telegram(value: &toml::Value) -> Result<Limits, ConfigError> {
    let table = value.as_table().ok_or_else(|| ConfigError::new("telegram", "expected a table ([telegram])"))?;
    let mut limits = Limits::default();
    for (field, value) in table {
        let key = format!("telegram.{field}");
        let number = |max: f64| -> Result<f64, ConfigError> {
            let number = value
                .as_float()
                .or_else(|| value.as_integer().map(|n| n as f64))
                .ok_or_else(|| ConfigError::new(&key, format!("expected a number, found {}", value.type_str())))?;
            if !(number > 0.0 && number <= max) {
                return Err(ConfigError::new(&key, format!("expected a number above 0 and at most {max}")));
            }
            Ok(number)
        };
        let burst = |max: f64| -> Result<u32, ConfigError> {
            let number = number(max)?;
            if number.fract() != 0.0 {
                return Err(ConfigError::new(&key, "expected a whole number"));
            }
            Ok(number as u32)
        };
        let rate = |count: f64, seconds: u64, burst: u32| Rate { count, per: Duration::from_secs(seconds), burst };
        match field.as_str() {
            "chat_per_second" => limits.per_chat = rate(number(1.0)?, 1, limits.per_chat.burst),
            "chat_burst" => limits.per_chat = rate(limits.per_chat.count, 1, burst(30.0)?),
            "group_per_minute" => limits.per_group = rate(number(20.0)?, 60, limits.per_group.burst),
            "group_burst" => limits.per_group = rate(limits.per_group.count, 60, burst(20.0)?),
            "overall_per_second" => limits.overall = rate(number(30.0)?, 1, limits.overall.burst),
            "overall_burst" => limits.overall = rate(limits.overall.count, 1, burst(30.0)?),
            "edit_spacing" => {
                let delay = parse_delay(expect_str(&key, value)?).map_err(|message| ConfigError::new(&key, message))?;
                if delay > Duration::from_secs(60) {
                    return Err(ConfigError::new(key, "at most 1m"));
                }
                limits.edit_spacing = delay;
            }
            _ => {
                return Err(ConfigError::new(
                    key,
                    "unknown key; [telegram] has chat_per_second, chat_burst, group_per_minute, group_burst, overall_per_second, overall_burst, edit_spacing",
                ));
            }
        }
    }
    Ok(limits)
}

fn parse_phone(value: &toml::Value) -> Result<PhoneFile, ConfigError> {
    let table = value.as_table().ok_or_else(|| ConfigError::new("phone", "expected a table ([phone])"))?;
    let mut phone = PhoneFile::default();
    for (field, value) in table {
        let key = format!("phone.{field}");
        match field.as_str() {
            "provider" => {
                let provider = expect_str(&key, value)?;
                if !matches!(provider, "twilio" | "webhook" | "none") {
                    return Err(ConfigError::new(key, "expected \"twilio\", \"webhook\" or \"none\""));
                }
                phone.provider = Some(provider.to_owned());
            }
            "webhook_url" => phone.webhook_url = Some(validate_http_url(&key, expect_str(&key, value)?)?),
            "voice_zh" => phone.voice.zh = expect_str(&key, value)?.to_owned(),
            "voice_en" => phone.voice.en = expect_str(&key, value)?.to_owned(),
            "ring_timeout" => {
                let delay = parse_delay(expect_str(&key, value)?).map_err(|message| ConfigError::new(&key, message))?;
                if !(5..=600).contains(&delay.as_secs()) {
                    return Err(ConfigError::new(key, "between 5s and 10m"));
                }
                phone.ring_timeout = Some(delay);
            }
            _ => {
                return Err(ConfigError::new(
                    key,
                    "unknown key; [phone] has provider, webhook_url, voice_zh, voice_en, ring_timeout",
                ));
            }
        }
    }
    Ok(phone)
}

fn phone_config(sources: &Sources<'_>, file: PhoneFile) -> Result<PhoneConfig, ConfigError> {
    let sid = sources.var("TWILIO_ACCOUNT_SID");
    let token = sources.var("TWILIO_AUTH_TOKEN");
    let from = sources.var("TWILIO_FROM_NUMBER");
    let twilio_set = sid.is_some() || token.is_some() || from.is_some();
    match file.provider.as_deref() {
        Some("none") => return Ok(PhoneConfig::None),
        Some("webhook") => {
            let url = file
                .webhook_url
                .ok_or_else(|| ConfigError::new("phone.webhook_url", "required when phone.provider is \"webhook\""))?;
            return Ok(PhoneConfig::Webhook { url });
        }
        Some("twilio") if !twilio_set => {
            return Err(ConfigError::new(
                "TWILIO_ACCOUNT_SID",
                "phone.provider is \"twilio\" but no TWILIO_ variables are set",
            ));
        }
        _ => {}
    }
    if !twilio_set {
        return Ok(PhoneConfig::None);
    }
    let account_sid =
        sid.ok_or_else(|| ConfigError::new("TWILIO_ACCOUNT_SID", "not set, but other TWILIO_ variables are"))?;
    if !(account_sid.starts_with("AC")
        && account_sid.len() == 34
        && account_sid.bytes().all(|b| b.is_ascii_alphanumeric()))
    {
        return Err(ConfigError::new("TWILIO_ACCOUNT_SID", "expected AC followed by 32 letters and digits"));
    }
    let auth_token =
        token.ok_or_else(|| ConfigError::new("TWILIO_AUTH_TOKEN", "not set, but other TWILIO_ variables are"))?;
    let from_number =
        from.ok_or_else(|| ConfigError::new("TWILIO_FROM_NUMBER", "not set, but other TWILIO_ variables are"))?;
    let from_number = crate::contact::PhoneNumber::parse(&from_number)
        .map_err(|_| ConfigError::new("TWILIO_FROM_NUMBER", "expected an E.164 number such as +8613800138000"))?;
    let api_url = match sources.var("TWILIO_API_URL") {
        Some(url) => validate_http_url("TWILIO_API_URL", &url)?,
        None => Url::parse("https://api.twilio.com").map_err(|e| ConfigError::new("TWILIO_API_URL", e.to_string()))?,
    };
    Ok(PhoneConfig::Twilio {
        account_sid,
        auth_token: Secret::new(auth_token),
        from_number: from_number.as_str().to_owned(),
        api_url,
        voice: file.voice,
        ring_timeout: file.ring_timeout.unwrap_or(Duration::from_secs(30)),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    const TOKEN: &str = "123456789:AAEhBOweik6ad9r_QBxLhXu0J8yQ0vX1AbC";

    fn load(text: Option<&str>, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let env: HashMap<String, String> = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        let lookup = move |name: &str| env.get(name).cloned();
        let sources = Sources { config_flag: None, env: &lookup };
        Config::from_parts(text, text.map(|_| PathBuf::from("/etc/floorbot/floorbot.toml")), &sources)
    }

    #[test]
    fn no_file_gives_the_defaults() {
        let config = load(None, &[]).expect("defaults are valid");
        assert_eq!(config.timezone, chrono_tz::Asia::Shanghai);
        assert_eq!(config.language, Lang::ZhCn);
        assert!(config.supervisors.is_empty());
        assert_eq!(config.database_url, "sqlite://floorbot.db");
        assert!(config.telegram.token.is_none());
    }

    #[test]
    fn the_database_sits_beside_the_config_file() {
        let config = load(Some("timezone = \"Europe/Berlin\"\nsupervisors = [11, 12]"), &[]).expect("valid");
        assert_eq!(config.database_url, "sqlite:///etc/floorbot/floorbot.db");
        assert_eq!(config.supervisors, vec![11, 12]);
        assert_eq!(config.timezone, chrono_tz::Europe::Berlin);
    }

    #[test]
    fn a_bad_timezone_names_the_key() {
        let error = load(Some("timezone = \"Mars/Base\""), &[]).expect_err("invalid");
        assert_eq!(error.key, "timezone");
    }

    #[test]
    fn bad_values_name_their_keys() {
        assert_eq!(load(Some("language = \"fr\""), &[]).expect_err("bad").key, "language");
        assert_eq!(load(Some("supervisors = [\"bob\"]"), &[]).expect_err("bad").key, "supervisors");
        assert_eq!(load(Some("supervisors = 5"), &[]).expect_err("bad").key, "supervisors");
        assert_eq!(load(Some("timzone = \"Asia/Shanghai\""), &[]).expect_err("bad").key, "timzone");
        assert_eq!(load(None, &[("TELOXIDE_TOKEN", "nonsense")]).expect_err("bad").key, "TELOXIDE_TOKEN");
        assert_eq!(load(None, &[("TELOXIDE_API_URL", "ftp://x")]).expect_err("bad").key, "TELOXIDE_API_URL");
        assert_eq!(load(None, &[("TELOXIDE_API_URL", "not a url")]).expect_err("bad").key, "TELOXIDE_API_URL");
        assert_eq!(
            load(None, &[("FLOORBOT_DATABASE_URL", "postgres://x")]).expect_err("bad").key,
            "FLOORBOT_DATABASE_URL"
        );
        assert_eq!(load(None, &[("TWILIO_ACCOUNT_SID", "AC1")]).expect_err("bad").key, "TWILIO_ACCOUNT_SID");
    }

    #[test]
    fn a_bad_token_is_not_repeated_in_the_error() {
        let error = load(None, &[("TELOXIDE_TOKEN", "123:short")]).expect_err("bad");
        assert!(!error.to_string().contains("short"));
    }

    #[test]
    fn secrets_are_masked_everywhere() {
        let config = load(None, &[("TELOXIDE_TOKEN", TOKEN)]).expect("valid");
        let described = config.describe();
        assert!(described.contains("123456789:********"));
        assert!(!described.contains("AAEh"));
        assert!(!format!("{config:?}").contains("AAEh"));
    }

    #[test]
    fn environment_overrides_the_database_url() {
        let config = load(Some("database_url = \"sqlite://a.db\""), &[("FLOORBOT_DATABASE_URL", "sqlite://b.db")])
            .expect("valid");
        assert_eq!(config.database_url, "sqlite://b.db");
    }

    #[test]
    fn escalation_chains_are_checked_and_teams_may_override_them() {
        let text = r#"
            [escalation]
            chain = [ { after = "90s", actions = ["call"], target = "duty" } ]
            [teams."天猫一组".escalation]
            chain = [ { after = "1m", actions = ["mention"], target = "role:lead" } ]
        "#;
        let config = load(Some(text), &[]).expect("valid");
        assert_eq!(config.escalation.steps[0].after, Duration::from_secs(90));
        assert_eq!(config.chain_for("天猫一组").steps[0].after, Duration::from_secs(60));
        assert_eq!(config.chain_for("京东组").steps[0].after, Duration::from_secs(90));
        assert!(config.describe().contains("after 1m30s: call -> duty"), "{}", config.describe());

        let error = load(Some("[escalation]\nchain = []"), &[]).expect_err("empty chain");
        assert_eq!(error.key, "escalation");
        let error = load(
            Some("[teams.x.escalation]\nchain = [ { after = \"5m\", actions = [\"call\"], target = \"boss\" } ]"),
            &[],
        )
        .expect_err("unknown target");
        assert_eq!(error.key, "teams.x.escalation");
    }

    #[test]
    fn teams_may_have_their_own_zone_and_patrol() {
        let text = r#"
            [teams."天猫一组"]
            timezone = "Europe/Berlin"
            patrol = { at = "08:00", days = "周一-周五", deadline = "09:00" }
        "#;
        let config = load(Some(text), &[]).expect("valid");
        assert_eq!(config.timezone_for("天猫一组"), chrono_tz::Europe::Berlin);
        assert_eq!(config.timezone_for("京东组"), chrono_tz::Asia::Shanghai);
        let patrol = config.patrol_for("天猫一组").expect("a patrol");
        assert_eq!((patrol.at, patrol.days), (LocalTime { hour: 8, minute: 0 }, Days::WORKDAYS));
        let bad = load(Some("[teams.x]\npatrol = { at = \"25:99\" }"), &[]).expect_err("bad time");
        assert_eq!(bad.key, "teams.x.patrol.at");
        let bad =
            load(Some("[teams.x]\npatrol = { at = \"09:00\", deadline = \"08:00\" }"), &[]).expect_err("deadline");
        assert_eq!(bad.key, "teams.x.patrol");
        let bad = load(Some("[teams.x]\npatrol = { days = \"funday\" }"), &[]).expect_err("days");
        assert_eq!(bad.key, "teams.x.patrol.days");
    }

    #[test]
    fn the_webhook_provider_needs_a_url() {
        let error = load(Some("[phone]\nprovider = \"webhook\""), &[]).expect_err("no url");
        assert_eq!(error.key, "phone.webhook_url");
        let config = load(Some("[phone]\nprovider = \"webhook\"\nwebhook_url = \"http://127.0.0.1:9/call\""), &[])
            .expect("valid");
        assert!(matches!(config.phone, PhoneConfig::Webhook { .. }));
    }

    #[test]
    fn the_example_configuration_is_valid_and_means_the_defaults() {
        let example = include_str!("../floorbot.example.toml");
        let config = load(Some(example), &[]).expect("the example is valid");
        assert_eq!(config.escalation, Chain::default());
        assert_eq!(config.timezone, chrono_tz::Asia::Shanghai);
        // Its commented team section is valid too once uncommented.
        let uncommented: String = example
            .lines()
            .map(|line| match line.strip_prefix("# ") {
                Some(rest)
                    if rest.starts_with("[teams")
                        || rest.starts_with("timezone =")
                        || rest.starts_with("patrol =")
                        || rest.starts_with("chain =") =>
                {
                    rest
                }
                _ => line,
            })
            .collect::<Vec<_>>()
            .join("\n");
        let config = load(Some(&uncommented), &[]).expect("the team section is valid");
        assert!(config.patrol_for("天猫一组").is_some());
        assert_eq!(config.chain_for("天猫一组").steps.len(), 1);
    }

    #[test]
    fn warnings_mention_the_missing_phone_provider() {
        let config = load(None, &[]).expect("valid");
        assert!(config.warnings().iter().any(|w| w.contains("no phone provider configured")));
    }
}
