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

    async fn place_call(&self, call: &CallRequest) -> Result<PlacedCall, PhoneError> {
        let twiml = twiml(&call.text, call.lang, self.voice(call.lang));
        let timeout = self.settings.ring_timeout_secs.to_string();
        let form = [
            ("To", call.to.as_str()),
            ("From", self.settings.from_number.as_str()),
            ("Twiml", twiml.as_str()),
            ("Timeout", timeout.as_str()),
        ];
        let response = self
            .client
            .post(self.calls_url.clone())
            .basic_auth(&self.settings.account_sid, Some(self.settings.auth_token.expose()))
            .form(&form)
            .send()
            .await
            .map_err(super::transport_error)?;
        let status = response.status();
        if !status.is_success() {
            let body = response.bytes().await.unwrap_or_default();
            return Err(super::status_error(status, twilio_error_detail(&body)));
        }
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
        let url = api_endpoint(&self.settings.api_url, &[&self.settings.account_sid, "Calls", &format!("{sid}.json")])?;
        let response = self
            .client
            .get(url)
            .basic_auth(&self.settings.account_sid, Some(self.settings.auth_token.expose()))
            .send()
            .await
            .map_err(super::transport_error)?;
        let status = response.status();
        if !status.is_success() {
            let body = response.bytes().await.unwrap_or_default();
            return Err(super::status_error(status, twilio_error_detail(&body)));
        }
        let body = response.bytes().await.map_err(super::transport_error)?;
        let call: CallResource = serde_json::from_slice(&body)
            .map_err(|_| PhoneError::Unavailable("unreadable call resource from Twilio".to_owned()))?;
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
        let response = self
            .client
            .get(url)
            .basic_auth(&self.settings.account_sid, Some(self.settings.auth_token.expose()))
            .send()
            .await
            .map_err(super::transport_error)?;
        let status = response.status();
        if !status.is_success() {
            let body = response.bytes().await.unwrap_or_default();
            return Err(super::status_error(status, twilio_error_detail(&body)));
        }
        let body = response.bytes().await.map_err(super::transport_error)?;
        let page: CallPage = serde_json::from_slice(&body)
            .map_err(|_| PhoneError::Unavailable("unreadable call list from Twilio".to_owned()))?;
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
        let url = api_endpoint(&self.settings.api_url, &[&self.settings.account_sid, "Calls", &format!("{sid}.json")])?;
        let response = self
            .client
            .post(url)
            .basic_auth(&self.settings.account_sid, Some(self.settings.auth_token.expose()))
            .form(form)
            .send()
            .await
            .map_err(super::transport_error)?;
        let status = response.status();
        if !status.is_success() {
            let body = response.bytes().await.unwrap_or_default();
            return Err(super::status_error(status, twilio_error_detail(&body)));
        }
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
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::phone::test_server::{self, Recorded};

    const SID: &str = "AC0123456789abcdef0123456789abcdef";
    const TOKEN: &str = "tok-en&secret";
    /// base64("AC0123456789abcdef0123456789abcdef:tok-en&secret")
    const BASIC: &str = "Basic QUMwMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OWFiY2RlZjp0b2stZW4mc2VjcmV0";
    const FROM: &str = "+15005550006";
    const TO: &str = "+8613800138000";
    const CALL_SID: &str = "CA42a2a6e5fa3b4b8c9d0e1f2a3b4c5d6e";

    fn twilio(api_url: Url) -> Twilio {
        let mut settings = TwilioSettings::new(SID, Secret::new(TOKEN), FROM, api_url);
        settings.ring_timeout_secs = 25;
        settings.request_timeout = Duration::from_secs(3);
        Twilio::new(settings).unwrap()
    }

    fn call(text: &str, lang: Lang) -> CallRequest {
        CallRequest { to: TO.to_owned(), text: text.to_owned(), lang, incidents: vec![12] }
    }

    async fn recorded(handle: tokio::task::JoinHandle<Vec<Recorded>>) -> Vec<Recorded> {
        tokio::time::timeout(Duration::from_secs(5), handle).await.unwrap().unwrap()
    }

    /// Nothing private may show in an error.
    fn assert_clean(error: &PhoneError) {
        let text = error.to_string();
        for private in ["13800138000", "5005550006", TOKEN, SID, "127.0.0.1", "Twiml", "<Say"] {
            assert!(!text.contains(private), "{private} in {text}");
        }
    }

    #[test]
    fn twiml_speaks_twice_in_the_language_with_the_voice() {
        assert_eq!(
            twiml("Incident 12 needs you", Lang::En, "Polly.Joanna"),
            r#"<Response><Say voice="Polly.Joanna" language="en-US" loop="2">Incident 12 needs you</Say></Response>"#
        );
        assert_eq!(
            twiml("12号工单需要处理", Lang::ZhCn, "Polly.Zhiyu"),
            r#"<Response><Say voice="Polly.Zhiyu" language="cmn-CN" loop="2">12号工单需要处理</Say></Response>"#
        );
    }

    #[test]
    fn twiml_escapes_text_and_voice() {
        assert_eq!(
            twiml(r#"a & b < c > d "e" 'f' </Say><Hangup/>"#, Lang::En, r#"x" loop="9"#),
            concat!(
                r#"<Response><Say voice="x&quot; loop=&quot;9" language="en-US" loop="2">"#,
                "a &amp; b &lt; c &gt; d &quot;e&quot; &apos;f&apos; &lt;/Say&gt;&lt;Hangup/&gt;",
                "</Say></Response>"
            )
        );
    }

    #[test]
    fn twiml_replaces_characters_xml_forbids() {
        assert!(twiml("a\u{0}b\u{1b}c\u{FFFF}d\te\nf", Lang::En, "v").contains(">a b c d\te\nf</Say>"));
    }

    fn spoken(twiml: &str) -> &str {
        let start = twiml.find(r#"loop="2">"#).unwrap() + r#"loop="2">"#.len();
        let end = twiml.rfind("</Say>").unwrap();
        &twiml[start..end]
    }

    #[test]
    fn twiml_cuts_the_text_to_300_characters() {
        let exact = "x".repeat(300);
        assert_eq!(spoken(&twiml(&exact, Lang::En, "v")), exact);
        assert_eq!(spoken(&twiml(&"y".repeat(301), Lang::En, "v")), "y".repeat(300));
        // Chinese: characters, not bytes (each is 3 bytes in UTF-8).
        let chinese = "请处理告警".repeat(100);
        let cut = twiml(&chinese, Lang::ZhCn, "v");
        assert_eq!(spoken(&cut).chars().count(), 300);
        assert_eq!(spoken(&cut), "请处理告警".repeat(60));
        // The cut is made before escaping: 300 ampersands, each escaped whole.
        assert_eq!(spoken(&twiml(&"&".repeat(400), Lang::En, "v")), "&amp;".repeat(300));
        // Mixed widths: 299 ASCII characters then Chinese.
        let mixed = format!("{}警告", "a".repeat(299));
        assert_eq!(spoken(&twiml(&mixed, Lang::ZhCn, "v")), format!("{}警", "a".repeat(299)));
    }

    #[test]
    fn endpoints_are_built_under_any_api_url() {
        for (base, expected) in [
            ("https://api.twilio.com", "https://api.twilio.com/2010-04-01/Accounts/AC1/Calls.json"),
            ("https://api.twilio.com/", "https://api.twilio.com/2010-04-01/Accounts/AC1/Calls.json"),
            ("http://proxy:8080/twilio", "http://proxy:8080/twilio/2010-04-01/Accounts/AC1/Calls.json"),
            ("http://proxy:8080/twilio/", "http://proxy:8080/twilio/2010-04-01/Accounts/AC1/Calls.json"),
            ("http://proxy:8080/twilio//", "http://proxy:8080/twilio/2010-04-01/Accounts/AC1/Calls.json"),
        ] {
            let url = api_endpoint(&Url::parse(base).unwrap(), &["AC1", "Calls.json"]).unwrap();
            assert_eq!(url.as_str(), expected, "{base}");
        }
        let odd = api_endpoint(&Url::parse("https://api.twilio.com").unwrap(), &["AC1", "Calls", "../x?y.json"]);
        assert_eq!(odd.unwrap().as_str(), "https://api.twilio.com/2010-04-01/Accounts/AC1/Calls/..%2Fx%3Fy.json");
    }

    #[test]
    fn new_refuses_empty_settings_and_unusable_urls() {
        let url = Url::parse(DEFAULT_API_URL).unwrap();
        let empty_token = TwilioSettings::new(SID, Secret::new(" "), FROM, url.clone());
        assert!(matches!(Twilio::new(empty_token), Err(PhoneError::Refused(_))));
        let empty_from = TwilioSettings::new(SID, Secret::new(TOKEN), "", url);
        assert!(matches!(Twilio::new(empty_from), Err(PhoneError::Refused(_))));
        let not_a_base =
            TwilioSettings::new(SID, Secret::new(TOKEN), FROM, Url::parse("mailto:ops@example.com").unwrap());
        assert!(matches!(Twilio::new(not_a_base), Err(PhoneError::Refused(_))));
        for (secs, ok) in [(4, false), (5, true), (600, true), (601, false)] {
            let mut settings = TwilioSettings::new(SID, Secret::new(TOKEN), FROM, Url::parse(DEFAULT_API_URL).unwrap());
            settings.ring_timeout_secs = secs;
            assert_eq!(Twilio::new(settings).is_ok(), ok, "{secs}");
        }
    }

    #[test]
    fn debug_output_hides_the_token_and_the_caller_id() {
        let settings = TwilioSettings::new(SID, Secret::new(TOKEN), FROM, Url::parse(DEFAULT_API_URL).unwrap());
        let debug = format!("{:?}", Twilio::new(settings).unwrap());
        assert!(!debug.contains(TOKEN), "{debug}");
        assert!(!debug.contains("5005550006"), "{debug}");
    }

    #[tokio::test]
    async fn place_posts_the_form_with_basic_auth_and_returns_the_sid() {
        let (url, server) =
            test_server::serve(vec![(201, r#"{"sid": "CA42a2a6e5fa3b4b8c9d0e1f2a3b4c5d6e", "status": "queued"}"#)])
                .await;
        let phone = twilio(url);
        let placed = phone.place(&call("Incident 12 & more", Lang::En)).await.unwrap();
        assert_eq!(placed, PlacedCall { sid: Some(CALL_SID.to_owned()) });

        let requests = recorded(server).await;
        let request = &requests[0];
        assert_eq!(request.method, "POST");
        assert_eq!(request.path, format!("/2010-04-01/Accounts/{SID}/Calls.json"));
        assert_eq!(request.header("authorization"), Some(BASIC));
        assert_eq!(request.header("content-type"), Some("application/x-www-form-urlencoded"));
        let form = request.form();
        let names: Vec<&str> = form.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names, ["To", "From", "Twiml", "Timeout"]);
        let field = |name: &str| form.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str()).unwrap();
        assert_eq!(field("To"), TO);
        assert_eq!(field("From"), FROM);
        assert_eq!(field("Twiml"), twiml("Incident 12 & more", Lang::En, DEFAULT_VOICE_EN));
        assert_eq!(field("Timeout"), "25");
    }

    #[tokio::test]
    async fn place_uses_the_chinese_voice_under_an_api_url_with_a_path() {
        let (url, server) = test_server::serve(vec![(200, r#"{"sid": "CA1"}"#)]).await;
        let phone = twilio(url.join("/proxy/twilio/").unwrap());
        let placed = phone.place(&call("请处理", Lang::ZhCn)).await.unwrap();
        assert_eq!(placed.sid.as_deref(), Some("CA1"));
        let requests = recorded(server).await;
        assert_eq!(requests[0].path, format!("/proxy/twilio/2010-04-01/Accounts/{SID}/Calls.json"));
        let form = requests[0].form();
        let twiml_sent = &form.iter().find(|(name, _)| name == "Twiml").unwrap().1;
        assert!(twiml_sent.contains(r#"voice="Polly.Zhiyu" language="cmn-CN""#), "{twiml_sent}");
    }

    #[tokio::test]
    async fn an_accepted_call_without_a_readable_sid_still_counts_as_placed() {
        let (url, server) = test_server::serve(vec![(201, "not json"), (201, r#"{"status": "queued"}"#)]).await;
        let phone = twilio(url);
        assert_eq!(phone.place(&call("x", Lang::En)).await.unwrap(), PlacedCall { sid: None });
        assert_eq!(phone.place(&call("x", Lang::En)).await.unwrap(), PlacedCall { sid: None });
        recorded(server).await;
    }

    #[tokio::test]
    async fn server_errors_and_rate_limits_are_unavailable() {
        let (url, server) = test_server::serve(vec![
            (503, r#"{"code": 20503, "message": "Service unavailable", "status": 503}"#),
            (429, r#"{"code": 20429, "message": "Too Many Requests", "status": 429}"#),
            (500, "<html>oops</html>"),
        ])
        .await;
        let phone = twilio(url);
        let error = phone.place(&call("x", Lang::En)).await.unwrap_err();
        assert_eq!(error, PhoneError::Unavailable("HTTP 503: Twilio error 20503: Service unavailable".to_owned()));
        let error = phone.place(&call("x", Lang::En)).await.unwrap_err();
        assert_eq!(error, PhoneError::Unavailable("HTTP 429: Twilio error 20429: Too Many Requests".to_owned()));
        let error = phone.place(&call("x", Lang::En)).await.unwrap_err();
        assert_eq!(error, PhoneError::Unavailable("HTTP 500".to_owned()));
        recorded(server).await;
    }

    #[tokio::test]
    async fn a_bad_number_is_refused_without_repeating_it() {
        let body = concat!(
            r#"{"code": 21211, "message": "The 'To' number +8613800138000 is not a valid phone number.", "#,
            r#""more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}"#
        );
        let (url, server) =
            test_server::serve(vec![(400, body), (401, r#"{"code": 20003, "message": "Authenticate"}"#)]).await;
        let phone = twilio(url);
        let error = phone.place(&call("x", Lang::En)).await.unwrap_err();
        assert_eq!(
            error,
            PhoneError::Refused(
                "HTTP 400: Twilio error 21211: The 'To' number +••••••••••••• is not a valid phone number.".to_owned()
            )
        );
        assert!(!error.is_retryable());
        assert_clean(&error);
        let error = phone.place(&call("x", Lang::En)).await.unwrap_err();
        assert_eq!(error, PhoneError::Refused("HTTP 401: Twilio error 20003: Authenticate".to_owned()));
        recorded(server).await;
    }

    #[tokio::test]
    async fn a_body_that_is_not_twilio_json_is_never_quoted() {
        let (url, server) = test_server::serve(vec![(400, "To=%2B8613800138000&From=%2B15005550006")]).await;
        let error = twilio(url).place(&call("x", Lang::En)).await.unwrap_err();
        assert_eq!(error, PhoneError::Refused("HTTP 400".to_owned()));
        recorded(server).await;
    }

    #[tokio::test]
    async fn a_redirect_is_not_followed() {
        let (url, server) = test_server::serve(vec![(301, "")]).await;
        let error = twilio(url).place(&call("x", Lang::En)).await.unwrap_err();
        assert_eq!(error, PhoneError::Refused("HTTP 301".to_owned()));
        assert_eq!(recorded(server).await.len(), 1);
    }

    #[tokio::test]
    async fn network_errors_are_unavailable_and_name_no_url() {
        let error = twilio(test_server::closed().await).place(&call("x", Lang::En)).await.unwrap_err();
        assert!(matches!(error, PhoneError::Unavailable(_)), "{error}");
        assert_clean(&error);
        assert!(error.to_string().contains("onnect"), "the cause is kept: {error}");
        let error = twilio(test_server::closed().await).status(CALL_SID).await.unwrap_err();
        assert!(matches!(error, PhoneError::Unavailable(_)), "{error}");
        assert!(!error.to_string().contains(CALL_SID), "{error}");
    }

    #[tokio::test]
    async fn a_slow_provider_times_out_as_unavailable() {
        let (url, server) = test_server::silent().await;
        let mut settings = TwilioSettings::new(SID, Secret::new(TOKEN), FROM, url);
        settings.request_timeout = Duration::from_millis(200);
        let error = Twilio::new(settings).unwrap().place(&call("x", Lang::En)).await.unwrap_err();
        assert_eq!(error, PhoneError::Unavailable("request timed out".to_owned()));
        server.abort();
    }

    #[tokio::test]
    async fn status_gets_the_call_resource() {
        let (url, server) = test_server::serve(vec![
            (200, r#"{"sid": "CA42a2a6e5fa3b4b8c9d0e1f2a3b4c5d6e", "status": "in-progress"}"#),
            (200, r#"{"status": "no-answer"}"#),
            (200, r#"{"status": "answered-by-robot"}"#),
            (404, r#"{"code": 20404, "message": "The requested resource was not found", "status": 404}"#),
            (502, ""),
        ])
        .await;
        let phone = twilio(url);
        assert_eq!(phone.status(CALL_SID).await, Ok(CallStatus::InProgress));
        assert_eq!(phone.status(CALL_SID).await, Ok(CallStatus::NoAnswer));
        assert_eq!(
            phone.status(CALL_SID).await,
            Err(PhoneError::Unavailable("unknown call status `answered-by-robot` from Twilio".to_owned()))
        );
        assert!(matches!(phone.status(CALL_SID).await, Err(PhoneError::Refused(_))));
        assert_eq!(phone.status(CALL_SID).await, Err(PhoneError::Unavailable("HTTP 502".to_owned())));

        let requests = recorded(server).await;
        for request in &requests {
            assert_eq!(request.method, "GET");
            assert_eq!(request.path, format!("/2010-04-01/Accounts/{SID}/Calls/{CALL_SID}.json"));
            assert_eq!(request.header("authorization"), Some(BASIC));
            assert!(request.body.is_empty());
        }
    }

    #[tokio::test]
    async fn works_behind_the_trait_object() {
        let (url, server) = test_server::serve(vec![(201, r#"{"sid": "CA9"}"#)]).await;
        let phone: std::sync::Arc<dyn Phone> = std::sync::Arc::new(twilio(url));
        assert_eq!(phone.name(), "twilio");
        assert_eq!(phone.place(&call("x", Lang::En)).await.unwrap().sid.as_deref(), Some("CA9"));
        recorded(server).await;
    }
}
