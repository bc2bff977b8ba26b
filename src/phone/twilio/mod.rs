//! Twilio Programmable Voice: places a call that reads a text twice with text-to-speech, and
//! fetches the call's status.
//!
//! The spoken text travels inline as TwiML (`Twiml` parameter), so floorbot needs no public URL
//! for Twilio to fetch instructions from.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;
use url::Url;

use chrono::{DateTime, Utc};

use crate::config::Secret;
use crate::domain::calls::CallStatus;
use crate::i18n::Lang;
use crate::jobs::ports::{CallRequest, FoundCall, Phone, PhoneError, PhoneFuture, PlacedCall, mask_digits};

/// Twilio's REST API root.
pub const DEFAULT_API_URL: &str = "https://api.twilio.com";
/// Amazon Polly's Mandarin voice: Twilio's default voice reads no Chinese.
pub const DEFAULT_VOICE_ZH: &str = "Polly.Zhiyu";
pub const DEFAULT_VOICE_EN: &str = "Polly.Joanna";
/// How long the phone rings before Twilio reports no-answer.
pub const DEFAULT_RING_TIMEOUT_SECS: u32 = 30;
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest text spoken in one call: enough for an alert, short enough to be heard twice.
pub const MAX_SPOKEN_CHARS: usize = 300;

/// Ring times Twilio honours (it caps at 600 s; under 5 s a phone barely rings).
pub const RING_TIMEOUT_SECS: std::ops::RangeInclusive<u32> = 5..=600;

/// The API version in every Twilio REST path.
const API_VERSION: &str = "2010-04-01";

/// Everything needed to talk to one Twilio account.
#[derive(Clone)]
pub struct TwilioSettings {
    pub account_sid: String,
    pub auth_token: Secret,
    /// The caller id: a Twilio number of the account, E.164.
    pub from_number: String,
    /// Default [`DEFAULT_API_URL`]; may carry a path (a proxy or a test server).
    pub api_url: Url,
    pub voice_zh: String,
    pub voice_en: String,
    pub ring_timeout_secs: u32,
    /// Bound on one HTTP request to Twilio, connection included.
    pub request_timeout: Duration,
}

impl TwilioSettings {
    /// Settings with the default voices and timeouts.
    pub fn new(
        account_sid: impl Into<String>,
        auth_token: Secret,
        from_number: impl Into<String>,
        api_url: Url,
    ) -> Self {
        Self {
            account_sid: account_sid.into(),
            auth_token,
            from_number: from_number.into(),
            api_url,
            voice_zh: DEFAULT_VOICE_ZH.to_owned(),
            voice_en: DEFAULT_VOICE_EN.to_owned(),
            ring_timeout_secs: DEFAULT_RING_TIMEOUT_SECS,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
        }
    }
}

/// Hides the caller id (and the token, through [`Secret`]) so settings can be logged.
impl fmt::Debug for TwilioSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TwilioSettings")
            .field("account_sid", &self.account_sid)
            .field("auth_token", &self.auth_token)
            .field("from_number", &mask_digits(&self.from_number))
            .field("api_url", &self.api_url.as_str())
            .field("voice_zh", &self.voice_zh)
            .field("voice_en", &self.voice_en)
            .field("ring_timeout_secs", &self.ring_timeout_secs)
            .field("request_timeout", &self.request_timeout)
            .finish()
    }
}

/// A Twilio account ready to place calls.
pub struct Twilio {
    client: reqwest::Client,
    settings: TwilioSettings,
    /// `…/Accounts/{AccountSid}/Calls.json`, built once.
    calls_url: Url,
}

impl fmt::Debug for Twilio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Twilio").field("settings", &self.settings).finish_non_exhaustive()
    }
}

impl Twilio {
    /// Checks the settings and builds the HTTP client. Errors are [`PhoneError::Refused`]: a
    /// configuration that is wrong now stays wrong.
    pub fn new(settings: TwilioSettings) -> Result<Twilio, PhoneError> {
        for (name, value) in [
            ("account sid", settings.account_sid.as_str()),
            ("auth token", settings.auth_token.expose()),
            ("from number", settings.from_number.as_str()),
            ("zh voice", settings.voice_zh.as_str()),
            ("en voice", settings.voice_en.as_str()),
        ] {
            if value.trim().is_empty() {
                return Err(PhoneError::Refused(format!("twilio {name} is empty")));
            }
        }
        if !RING_TIMEOUT_SECS.contains(&settings.ring_timeout_secs) {
            return Err(PhoneError::Refused(format!(
                "twilio ring timeout {}s is outside {}..={}s",
                settings.ring_timeout_secs,
                RING_TIMEOUT_SECS.start(),
                RING_TIMEOUT_SECS.end()
            )));
        }
        let calls_url = api_endpoint(&settings.api_url, &[&settings.account_sid, "Calls.json"])?;
        let client = super::http_client(settings.request_timeout)?;
        Ok(Twilio { client, settings, calls_url })
    }

    fn voice(&self, lang: Lang) -> &str {
        match lang {
            Lang::ZhCn => &self.settings.voice_zh,
            Lang::En => &self.settings.voice_en,
        }
    }

    /// Sends a request with the account's credentials; an answer that is not a success is an
    /// error carrying Twilio's own code and message (never the request's URL or form).
    async fn send(&self, request: reqwest::RequestBuilder) -> Result<reqwest::Response, PhoneError> {
        let response = request
            .basic_auth(&self.settings.account_sid, Some(self.settings.auth_token.expose()))
            .send()
            .await
            .map_err(super::transport_error)?;
        let status = response.status();
        if !status.is_success() {
            let body = response.bytes().await.unwrap_or_default();
            return Err(super::status_error(status, twilio_error_detail(&body)));
        }
        Ok(response)
    }

    /// Reads a resource's JSON body; `what` names it in the error.
    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: Url, what: &str) -> Result<T, PhoneError> {
        let response = self.send(self.client.get(url)).await?;
        let body = response.bytes().await.map_err(super::transport_error)?;
        serde_json::from_slice(&body).map_err(|_| PhoneError::Unavailable(format!("unreadable {what} from Twilio")))
    }

    fn call_url(&self, sid: &str) -> Result<Url, PhoneError> {
        api_endpoint(&self.settings.api_url, &[&self.settings.account_sid, "Calls", &format!("{sid}.json")])
    }

    async fn place_call(&self, call: &CallRequest) -> Result<PlacedCall, PhoneError> {
        let twiml = twiml(&call.text, call.lang, self.voice(call.lang));
        let timeout = self.settings.ring_timeout_secs.to_string();
        let form = [
            ("To", call.to.as_str()),
            ("From", self.settings.from_number.as_str()),
            ("Twiml", twiml.as_str()),
            ("Timeout", timeout.as_str()),
        ];
        let response = self.send(self.client.post(self.calls_url.clone()).form(&form)).await?;
        let status = response.status();
        // From here on Twilio has accepted the call: never report an error, or a retry would
        // ring the person twice. Without a sid the call just cannot be followed.
        let sid = match response.bytes().await {
            Ok(body) => serde_json::from_slice::<CallResource>(&body).ok().and_then(|call| call.sid),
            Err(_) => None,
        }
        .filter(|sid| !sid.is_empty());
        match &sid {
            Some(sid) => tracing::debug!(provider = "twilio", %sid, incidents = ?call.incidents, "call placed"),
            None => tracing::warn!(
                provider = "twilio",
                incidents = ?call.incidents,
                http_status = status.as_u16(),
                "Twilio accepted the call without a readable sid; its outcome cannot be followed"
            ),
        }
        Ok(PlacedCall { sid })
    }

    async fn call_status(&self, sid: &str) -> Result<CallStatus, PhoneError> {
        let call: CallResource = self.get_json(self.call_url(sid)?, "call resource").await?;
        let text = call.status.unwrap_or_default();
        CallStatus::parse(&text).ok_or_else(|| {
            PhoneError::Unavailable(format!("unknown call status `{}` from Twilio", super::safe_detail(&text)))
        })
    }

    /// Lists the newest calls to `to` and keeps the newest created at or after `since`.
    ///
    /// The list is filtered by `To` only and the creation time is checked here: Twilio's
    /// `StartTime` filter reads a call's start time, which stays empty while a call is still
    /// queued — exactly the call a lost answer may have left behind.
    async fn find_call(&self, to: &str, since: DateTime<Utc>) -> Result<Option<FoundCall>, PhoneError> {
        let mut url = self.calls_url.clone();
        url.query_pairs_mut().append_pair("To", to).append_pair("PageSize", &LOOKUP_PAGE_SIZE.to_string());
        let page: CallPage = self.get_json(url, "call list").await?;
        let found = page
            .calls
            .into_iter()
            .filter_map(|call| {
                let created = DateTime::parse_from_rfc2822(call.date_created.as_deref()?).ok()?.with_timezone(&Utc);
                let status = CallStatus::parse(call.status.as_deref()?)?;
                Some((created, FoundCall { sid: call.sid?, status }))
            })
            .filter(|(created, _)| *created >= since)
            .max_by_key(|(created, _)| *created)
            .map(|(_, call)| call);
        Ok(found)
    }

    async fn update_call(&self, sid: &str, form: &[(&str, &str)]) -> Result<(), PhoneError> {
        self.send(self.client.post(self.call_url(sid)?).form(form)).await?;
        Ok(())
    }
}

/// Calls read when looking for one a lost answer may have placed.
const LOOKUP_PAGE_SIZE: u32 = 20;

/// One page of Twilio's call list.
#[derive(Deserialize)]
struct CallPage {
    #[serde(default)]
    calls: Vec<ListedCall>,
}

/// The fields floorbot reads from a listed call.
#[derive(Deserialize)]
struct ListedCall {
    sid: Option<String>,
    status: Option<String>,
    date_created: Option<String>,
}

impl Phone for Twilio {
    fn name(&self) -> &'static str {
        "twilio"
    }

    fn place<'a>(&'a self, call: &'a CallRequest) -> PhoneFuture<'a, PlacedCall> {
        Box::pin(self.place_call(call))
    }

    fn status<'a>(&'a self, sid: &'a str) -> PhoneFuture<'a, CallStatus> {
        Box::pin(self.call_status(sid))
    }

    fn find_since<'a>(&'a self, to: &'a str, since: DateTime<Utc>) -> PhoneFuture<'a, Option<FoundCall>> {
        Box::pin(self.find_call(to, since))
    }

    fn hang_up<'a>(&'a self, sid: &'a str, answered: bool) -> PhoneFuture<'a, ()> {
        // `canceled` stops a call that has not been answered and leaves an answered one
        // alone; `completed` ends one in progress.
        let status = if answered { "completed" } else { "canceled" };
        Box::pin(async move { self.update_call(sid, &[("Status", status)]).await })
    }

    fn redirect<'a>(&'a self, sid: &'a str, text: &'a str, lang: Lang) -> PhoneFuture<'a, ()> {
        Box::pin(async move {
            let twiml = twiml(text, lang, self.voice(lang));
            self.update_call(sid, &[("Twiml", twiml.as_str())]).await
        })
    }
}

/// The fields floorbot reads from Twilio's call resource.
#[derive(Deserialize)]
struct CallResource {
    sid: Option<String>,
    status: Option<String>,
}

/// Twilio's JSON error body (`{"code": 21211, "message": "…", "more_info": "…", "status": 400}`).
#[derive(Deserialize)]
struct TwilioErrorBody {
    code: Option<i64>,
    message: Option<String>,
}

/// Twilio's error code and message, numbers masked; None if the body is not Twilio's JSON error
/// (the body itself is never quoted: it could echo the request).
fn twilio_error_detail(body: &[u8]) -> Option<String> {
    let error: TwilioErrorBody = serde_json::from_slice(body).ok()?;
    let message = error.message.map(|message| super::safe_detail(&message)).filter(|message| !message.is_empty());
    match (error.code, message) {
        (Some(code), Some(message)) => Some(format!("Twilio error {code}: {message}")),
        (Some(code), None) => Some(format!("Twilio error {code}")),
        (None, Some(message)) => Some(message),
        (None, None) => None,
    }
}

/// `{api_url}/2010-04-01/Accounts/{segments…}`, whatever path and trailing slashes `api_url`
/// has. Each segment is percent-encoded, so a sid cannot reach another path.
fn api_endpoint(api_url: &Url, segments: &[&str]) -> Result<Url, PhoneError> {
    let mut url = api_url.clone();
    let base_path = api_url.path().trim_end_matches('/').to_owned();
    url.set_path(&base_path);
    url.path_segments_mut()
        .map_err(|()| PhoneError::Refused("twilio api url cannot have a path".to_owned()))?
        .pop_if_empty()
        .push(API_VERSION)
        .push("Accounts")
        .extend(segments);
    Ok(url)
}

/// The TwiML for a call: `<Response><Say voice="…" language="…" loop="2">text</Say></Response>`.
///
/// The language is "cmn-CN" for [`Lang::ZhCn`] and "en-US" for [`Lang::En`]. The text is cut to
/// at most [`MAX_SPOKEN_CHARS`] characters, characters XML forbids become spaces (Twilio would
/// reject the whole call otherwise), and it is XML-escaped, as is the voice.
pub fn twiml(text: &str, lang: Lang, voice: &str) -> String {
    let language = match lang {
        Lang::ZhCn => "cmn-CN",
        Lang::En => "en-US",
    };
    let spoken: String = text.chars().take(MAX_SPOKEN_CHARS).map(|c| if is_xml_char(c) { c } else { ' ' }).collect();
    format!(
        r#"<Response><Say voice="{}" language="{language}" loop="2">{}</Say></Response>"#,
        escape_xml(voice),
        escape_xml(&spoken)
    )
}

/// Characters allowed in an XML 1.0 document.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Escapes text for an XML element or a double- or single-quoted attribute.
fn escape_xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests;
