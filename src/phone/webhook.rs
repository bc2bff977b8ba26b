//! A webhook provider for any telephony service floorbot has no client for: each call is one
//! JSON POST to a configured URL, and the service behind it does the calling.
//!
//! The body is `{"to": "+86…", "text": "…", "incident": 12 | [12, 13], "language": "zh-CN" | "en"}`.
//! A 2xx answer means the call is placed; the service reports no status afterwards.

use std::fmt;
use std::time::Duration;

use serde_json::{Value, json};
use url::Url;

use crate::domain::calls::CallStatus;
use crate::i18n::Lang;
use crate::jobs::ports::{CallRequest, FoundCall, Phone, PhoneError, PhoneFuture, PlacedCall};

/// A configured webhook.
pub struct Webhook {
    client: reqwest::Client,
    /// May carry a token in its path or query, so it is never printed.
    url: Url,
}

/// Shows only the host: the rest of the URL may be a credential.
impl fmt::Debug for Webhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Webhook").field("host", &self.url.host_str()).finish_non_exhaustive()
    }
}

impl Webhook {
    /// Errors are [`PhoneError::Refused`]: a URL that is wrong now stays wrong.
    pub fn new(url: Url, request_timeout: Duration) -> Result<Webhook, PhoneError> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(PhoneError::Refused("webhook url must be http or https".to_owned()));
        }
        let client = super::http_client(request_timeout)?;
        Ok(Webhook { client, url })
    }

    async fn post(&self, call: &CallRequest) -> Result<PlacedCall, PhoneError> {
        let response =
            self.client.post(self.url.clone()).json(&body(call)).send().await.map_err(super::transport_error)?;
        let status = response.status();
        // The answer body is never read into an error: the service may echo the number.
        if !status.is_success() {
            return Err(super::status_error(status, None));
        }
        tracing::debug!(provider = "webhook", incidents = ?call.incidents, "call placed");
        Ok(PlacedCall { sid: None })
    }
}

impl Phone for Webhook {
    fn name(&self) -> &'static str {
        "webhook"
    }

    fn place<'a>(&'a self, call: &'a CallRequest) -> PhoneFuture<'a, PlacedCall> {
        Box::pin(self.post(call))
    }

    fn status<'a>(&'a self, _sid: &'a str) -> PhoneFuture<'a, CallStatus> {
        Box::pin(async { Err(PhoneError::Refused("webhook calls have no status".to_owned())) })
    }

    fn find_since<'a>(
        &'a self,
        _to: &'a str,
        _since: chrono::DateTime<chrono::Utc>,
    ) -> PhoneFuture<'a, Option<FoundCall>> {
        Box::pin(async { Err(PhoneError::Refused("webhook calls cannot be looked up".to_owned())) })
    }

    fn hang_up<'a>(&'a self, _sid: &'a str, _answered: bool) -> PhoneFuture<'a, ()> {
        Box::pin(async { Err(PhoneError::Refused("webhook calls cannot be hung up".to_owned())) })
    }

    fn redirect<'a>(&'a self, _sid: &'a str, _text: &'a str, _lang: Lang) -> PhoneFuture<'a, ()> {
        Box::pin(async { Err(PhoneError::Refused("webhook calls cannot be changed".to_owned())) })
    }
}

/// The JSON body: `incident` is a plain number for the common one-incident call, so a simple
/// receiver needs no array handling; otherwise the list (possibly empty).
fn body(call: &CallRequest) -> Value {
    let incident = match call.incidents.as_slice() {
        [one] => json!(one),
        many => json!(many),
    };
    json!({ "to": call.to, "text": call.text, "incident": incident, "language": call.lang.tag() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phone::test_server::{self, Recorded};

    const TO: &str = "+8613800138000";

    fn call(incidents: Vec<i64>, lang: Lang) -> CallRequest {
        CallRequest { to: TO.to_owned(), text: "请处理 12 号工单".to_owned(), lang, incidents }
    }

    fn webhook(url: Url) -> Webhook {
        Webhook::new(url, Duration::from_secs(3)).unwrap()
    }

    async fn recorded(handle: tokio::task::JoinHandle<Vec<Recorded>>) -> Vec<Recorded> {
        tokio::time::timeout(Duration::from_secs(5), handle).await.unwrap().unwrap()
    }

    #[test]
    fn one_incident_is_a_number_several_are_an_array() {
        assert_eq!(
            body(&call(vec![12], Lang::ZhCn)),
            json!({"to": TO, "text": "请处理 12 号工单", "incident": 12, "language": "zh-CN"})
        );
        assert_eq!(body(&call(vec![12, 13], Lang::En))["incident"], json!([12, 13]));
        assert_eq!(body(&call(vec![], Lang::En))["incident"], json!([]));
        assert_eq!(body(&call(vec![], Lang::En))["language"], "en");
    }

    #[test]
    fn only_http_urls_are_accepted_and_debug_hides_the_path() {
        let refused = Webhook::new(Url::parse("ftp://calls.example.com/x").unwrap(), Duration::from_secs(1));
        assert!(matches!(refused, Err(PhoneError::Refused(_))));
        let hook = webhook(Url::parse("https://calls.example.com/hook/s3cr3t?token=abc").unwrap());
        let debug = format!("{hook:?}");
        assert!(debug.contains("calls.example.com"), "{debug}");
        assert!(!debug.contains("s3cr3t") && !debug.contains("abc"), "{debug}");
    }

    #[tokio::test]
    async fn place_posts_json_and_counts_as_placed_without_a_sid() {
        let (url, server) = test_server::serve(vec![(200, r#"{"ok": true}"#), (204, "")]).await;
        let hook = webhook(url.join("/hooks/call?token=t0k").unwrap());
        assert_eq!(hook.place(&call(vec![12], Lang::ZhCn)).await, Ok(PlacedCall { sid: None }));
        assert_eq!(hook.place(&call(vec![12, 13], Lang::En)).await, Ok(PlacedCall { sid: None }));

        let requests = recorded(server).await;
        assert_eq!(requests[0].method, "POST");
        assert_eq!(requests[0].path, "/hooks/call?token=t0k");
        assert_eq!(requests[0].header("content-type"), Some("application/json"));
        let sent: Value = serde_json::from_slice(&requests[0].body).unwrap();
        assert_eq!(sent, json!({"to": TO, "text": "请处理 12 号工单", "incident": 12, "language": "zh-CN"}));
        let sent: Value = serde_json::from_slice(&requests[1].body).unwrap();
        assert_eq!(sent["incident"], json!([12, 13]));
        assert_eq!(sent["language"], "en");
    }

    #[tokio::test]
    async fn failures_split_into_unavailable_and_refused() {
        let echo = r#"{"error": "bad number +8613800138000"}"#;
        let (url, server) = test_server::serve(vec![(503, ""), (429, ""), (400, echo), (404, "")]).await;
        let hook = webhook(url);
        let one = call(vec![1], Lang::En);
        assert_eq!(hook.place(&one).await, Err(PhoneError::Unavailable("HTTP 503".to_owned())));
        assert_eq!(hook.place(&one).await, Err(PhoneError::Unavailable("HTTP 429".to_owned())));
        assert_eq!(hook.place(&one).await, Err(PhoneError::Refused("HTTP 400".to_owned())));
        assert_eq!(hook.place(&one).await, Err(PhoneError::Refused("HTTP 404".to_owned())));
        recorded(server).await;
    }

    #[tokio::test]
    async fn network_errors_are_unavailable_and_name_no_url() {
        let url = test_server::closed().await.join("/hook?token=s3cr3t").unwrap();
        let error = webhook(url).place(&call(vec![1], Lang::En)).await.unwrap_err();
        assert!(matches!(error, PhoneError::Unavailable(_)), "{error}");
        let text = error.to_string();
        assert!(!text.contains("s3cr3t") && !text.contains("127.0.0.1") && !text.contains("13800138000"), "{text}");
    }

    #[tokio::test]
    async fn status_is_never_available() {
        let hook = webhook(Url::parse("https://calls.example.com/hook").unwrap());
        assert_eq!(hook.status("anything").await, Err(PhoneError::Refused("webhook calls have no status".to_owned())));
        assert_eq!(hook.name(), "webhook");
    }
}
