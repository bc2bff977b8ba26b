//! The environment's part of the configuration: secrets (the bot token, Twilio's
//! credentials) and the values an operator overrides per machine (database, API servers).
//! A bad secret is never repeated in its error: it may be a real one pasted slightly wrong.

use std::path::{Path, PathBuf};
use std::time::Duration;

use url::Url;

use super::file::{PhoneFile, Provider, http_url};
use super::{ConfigError, DEFAULT_TELEGRAM_API_URL, PhoneConfig, Secret, Sources};
use crate::domain::contact::PhoneNumber;

const DEFAULT_TWILIO_API_URL: &str = "https://api.twilio.com";
const DEFAULT_RING_TIMEOUT: Duration = Duration::from_secs(30);

/// `FLOORBOT_DATABASE_URL`, else the file's `database_url`, else `floorbot.db` beside the file.
pub(super) fn database_url(
    sources: &Sources<'_>,
    from_file: Option<&str>,
    config_file: Option<&Path>,
) -> Result<String, ConfigError> {
    match (sources.var("FLOORBOT_DATABASE_URL"), from_file) {
        (Some(url), _) => validate_database_url("FLOORBOT_DATABASE_URL", &url),
        (None, Some(url)) => validate_database_url("database_url", url),
        (None, None) => Ok(default_database_url(config_file)),
    }
}

fn validate_database_url(key: &str, url: &str) -> Result<String, ConfigError> {
    if !url.starts_with("sqlite:") {
        return Err(ConfigError::new(key, "only SQLite is supported: use sqlite://path/to/floorbot.db"));
    }
    crate::db::check_url(url).map_err(|error| ConfigError::new(key, format!("not a valid SQLite URL: {error}")))?;
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

/// `TELOXIDE_TOKEN`, if set.
pub(super) fn token(sources: &Sources<'_>) -> Result<Option<Secret>, ConfigError> {
    sources.var("TELOXIDE_TOKEN").map(|token| validate_token(&token)).transpose()
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
        Err(ConfigError::new(
            "TELOXIDE_TOKEN",
            "not a bot token; BotFather's tokens look like 123456789:AAE… (digits, a colon, then 35 letters, digits, _ or -)",
        ))
    }
}

/// `TELOXIDE_API_URL`, else Telegram's own server.
pub(super) fn api_url(sources: &Sources<'_>) -> Result<Url, ConfigError> {
    url_or_default(sources, "TELOXIDE_API_URL", DEFAULT_TELEGRAM_API_URL)
}

fn url_or_default(sources: &Sources<'_>, key: &str, default: &str) -> Result<Url, ConfigError> {
    let text = sources.var(key).unwrap_or_else(|| default.to_owned());
    http_url(&text).map_err(|message| ConfigError::new(key, message))
}

/// The phone provider: `[phone] provider` decides; without it, Twilio's variables do.
pub(super) fn phone(sources: &Sources<'_>, file: PhoneFile) -> Result<PhoneConfig, ConfigError> {
    let sid = sources.var("TWILIO_ACCOUNT_SID");
    let token = sources.var("TWILIO_AUTH_TOKEN");
    let from = sources.var("TWILIO_FROM_NUMBER");
    let twilio_set = sid.is_some() || token.is_some() || from.is_some();
    match file.provider {
        Some(Provider::None) => return Ok(PhoneConfig::None),
        Some(Provider::Webhook) => {
            let url = file
                .webhook_url
                .ok_or_else(|| ConfigError::new("phone.webhook_url", "required when phone.provider is \"webhook\""))?;
            return Ok(PhoneConfig::Webhook { url });
        }
        Some(Provider::Twilio) if !twilio_set => {
            return Err(ConfigError::new(
                "TWILIO_ACCOUNT_SID",
                "phone.provider is \"twilio\" but no TWILIO_ variables are set",
            ));
        }
        Some(Provider::Twilio) | None => {}
    }
    if !twilio_set {
        return Ok(PhoneConfig::None);
    }
    let missing = |key: &str| ConfigError::new(key, "not set, but other TWILIO_ variables are");
    let account_sid = sid.ok_or_else(|| missing("TWILIO_ACCOUNT_SID"))?;
    if !(account_sid.starts_with("AC")
        && account_sid.len() == 34
        && account_sid.bytes().all(|b| b.is_ascii_alphanumeric()))
    {
        return Err(ConfigError::new("TWILIO_ACCOUNT_SID", "expected AC followed by 32 letters and digits"));
    }
    let auth_token = token.ok_or_else(|| missing("TWILIO_AUTH_TOKEN"))?;
    let from_number = from.ok_or_else(|| missing("TWILIO_FROM_NUMBER"))?;
    let from_number = PhoneNumber::parse(&from_number)
        .map_err(|_| ConfigError::new("TWILIO_FROM_NUMBER", "expected an E.164 number such as +8613800138000"))?;
    Ok(PhoneConfig::Twilio {
        account_sid,
        auth_token: Secret::new(auth_token),
        from_number: from_number.as_str().to_owned(),
        api_url: url_or_default(sources, "TWILIO_API_URL", DEFAULT_TWILIO_API_URL)?,
        voice: file.voices(),
        ring_timeout: file.ring_timeout.unwrap_or(DEFAULT_RING_TIMEOUT),
    })
}
