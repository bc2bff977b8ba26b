//! Twilio against a local HTTP server: the form it posts, how answers and failures are read,
//! and that no secret or number reaches an error.

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
    let not_a_base = TwilioSettings::new(SID, Secret::new(TOKEN), FROM, Url::parse("mailto:ops@example.com").unwrap());
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
        test_server::serve(vec![(201, r#"{"sid": "CA42a2a6e5fa3b4b8c9d0e1f2a3b4c5d6e", "status": "queued"}"#)]).await;
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
