//! The phone edge: places voice calls and reads their status.
//!
//! Domain code decides who to call and when; this module only talks to the telephony provider.
//! Two providers exist: [`twilio::Twilio`] (Programmable Voice, with call status) and
//! [`webhook::Webhook`] (a JSON POST to any other service, without status). Both sit behind the
//! object-safe [`Phone`] trait so the app can hold an `Arc<dyn Phone>` and tests can swap in a fake.
//!
//! Phone numbers are private: no error, log line or `Debug` output of this module carries one,
//! nor a credential or a request body.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, Utc};

use crate::i18n::Lang;

pub mod twilio;
pub mod webhook;

/// What to say to whom.
#[derive(Clone, PartialEq, Eq)]
pub struct CallRequest {
    /// E.164, already validated.
    pub to: String,
    /// Plain text to speak.
    pub text: String,
    pub lang: Lang,
    /// The incidents this call is about, for the provider's records.
    pub incidents: Vec<i64>,
}

/// Masks the number (and any number-like run in the text) so a request can be logged.
impl fmt::Debug for CallRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallRequest")
            .field("to", &mask_digits(&self.to))
            .field("text", &mask_digits(&self.text))
            .field("lang", &self.lang)
            .field("incidents", &self.incidents)
            .finish()
    }
}

/// A call found at the provider by [`Phone::find_since`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FoundCall {
    pub sid: String,
    pub status: CallStatus,
}

/// A call the provider accepted. `sid` is None when the provider cannot report status (webhook):
/// such a call counts as placed, with no outcome to follow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlacedCall {
    pub sid: Option<String>,
}

/// The life of a call, as Twilio names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallStatus {
    Queued,
    Ringing,
    InProgress,
    Completed,
    Busy,
    NoAnswer,
    Failed,
    Canceled,
}

impl CallStatus {
    /// Twilio's status string; `initiated` (seen in status callbacks) counts as queued.
    pub fn parse(twilio_status: &str) -> Option<CallStatus> {
        Some(match twilio_status {
            "queued" | "initiated" => CallStatus::Queued,
            "ringing" => CallStatus::Ringing,
            "in-progress" => CallStatus::InProgress,
            "completed" => CallStatus::Completed,
            "busy" => CallStatus::Busy,
            "no-answer" => CallStatus::NoAnswer,
            "failed" => CallStatus::Failed,
            "canceled" => CallStatus::Canceled,
            _ => return None,
        })
    }

    /// Twilio's name for the status, for logs and storage.
    pub fn as_str(self) -> &'static str {
        match self {
            CallStatus::Queued => "queued",
            CallStatus::Ringing => "ringing",
            CallStatus::InProgress => "in-progress",
            CallStatus::Completed => "completed",
            CallStatus::Busy => "busy",
            CallStatus::NoAnswer => "no-answer",
            CallStatus::Failed => "failed",
            CallStatus::Canceled => "canceled",
        }
    }

    /// The call is over and its status will not change again.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            CallStatus::Completed | CallStatus::Busy | CallStatus::NoAnswer | CallStatus::Failed | CallStatus::Canceled
        )
    }

    /// Someone (or a voicemail box) picked up.
    pub fn was_answered(self) -> bool {
        matches!(self, CallStatus::InProgress | CallStatus::Completed)
    }

    /// The call ended without being answered.
    pub fn is_failure(self) -> bool {
        matches!(self, CallStatus::Busy | CallStatus::NoAnswer | CallStatus::Failed | CallStatus::Canceled)
    }
}

impl fmt::Display for CallStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a provider did not do what was asked. The text never carries a number, a credential or
/// a request body, so it may be logged and shown to supervisors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    /// Worth retrying later: network error, timeout, 5xx, 429.
    #[error("phone provider unavailable: {0}")]
    Unavailable(String),
    /// Will not work by retrying: 4xx other than 429 (bad number, bad credentials…).
    #[error("phone provider refused the call: {0}")]
    Refused(String),
}

impl PhoneError {
    /// True if the same request may succeed later.
    pub fn is_retryable(&self) -> bool {
        matches!(self, PhoneError::Unavailable(_))
    }
}

/// The future returned by [`Phone`] methods (boxed so the trait stays object-safe).
pub type PhoneFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, PhoneError>> + Send + 'a>>;

/// A telephony provider. Object-safe so the app holds an `Arc<dyn Phone>`.
pub trait Phone: Send + Sync + 'static {
    /// Short provider name for logs ("twilio", "webhook").
    fn name(&self) -> &'static str;

    /// Asks the provider to call `call.to` and speak `call.text`.
    ///
    /// A timeout is reported as [`PhoneError::Unavailable`], yet the provider may have received
    /// the request and placed the call anyway.
    fn place<'a>(&'a self, call: &'a CallRequest) -> PhoneFuture<'a, PlacedCall>;

    /// Current status of a call placed with a sid.
    fn status<'a>(&'a self, sid: &'a str) -> PhoneFuture<'a, CallStatus>;

    /// The newest call to `to` created at or after `since`, if the provider has one: asked
    /// before placing a call again when an earlier attempt's outcome is unknown.
    fn find_since<'a>(&'a self, to: &'a str, since: DateTime<Utc>) -> PhoneFuture<'a, Option<FoundCall>>;

    /// Hangs up a call: cancels it while it is queued or ringing, ends it once answered.
    fn hang_up<'a>(&'a self, sid: &'a str, answered: bool) -> PhoneFuture<'a, ()>;

    /// Replaces what a call that is still going says.
    fn redirect<'a>(&'a self, sid: &'a str, text: &'a str, lang: Lang) -> PhoneFuture<'a, ()>;
}

/// Longest provider message kept in an error, so a chatty error page cannot flood the logs.
const MAX_DETAIL_CHARS: usize = 200;

/// Hides anything that could be a phone number: every digit of a run of 7 or more digits
/// (spaces, `-`, `.`, `(` and `)` between them do not break the run) becomes `•`.
pub(crate) fn mask_digits(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        // The run: digits and separators, ending on its last digit.
        let start = i;
        let mut end = i;
        let mut digits = 0;
        let mut j = i;
        while j < chars.len() && (chars[j].is_ascii_digit() || is_number_separator(chars[j])) {
            if chars[j].is_ascii_digit() {
                digits += 1;
                end = j;
            }
            j += 1;
        }
        for &c in &chars[start..=end] {
            out.push(if digits >= 7 && c.is_ascii_digit() { '•' } else { c });
        }
        i = end + 1;
    }
    out
}

fn is_number_separator(c: char) -> bool {
    matches!(c, ' ' | '-' | '.' | '(' | ')')
}

/// A provider-supplied message made safe for an error: numbers masked, length capped.
pub(crate) fn safe_detail(message: &str) -> String {
    let masked = mask_digits(message.trim());
    if masked.chars().count() <= MAX_DETAIL_CHARS {
        return masked;
    }
    let mut cut: String = masked.chars().take(MAX_DETAIL_CHARS).collect();
    cut.push('…');
    cut
}

/// A failed HTTP exchange (no response). The URL is dropped because it can carry an account id
/// or a webhook token; the causes are kept because "connection refused" or "dns error" is what
/// an operator needs.
pub(crate) fn transport_error(err: reqwest::Error) -> PhoneError {
    let err = err.without_url();
    if err.is_timeout() {
        return PhoneError::Unavailable("request timed out".to_owned());
    }
    let mut text = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    let text = safe_detail(&text);
    if err.is_builder() { PhoneError::Refused(text) } else { PhoneError::Unavailable(text) }
}

/// A non-success HTTP status: 429 and 5xx are worth retrying, anything else is not (3xx included,
/// since redirects are not followed: the configured URL is wrong).
pub(crate) fn status_error(status: reqwest::StatusCode, detail: Option<String>) -> PhoneError {
    let mut text = format!("HTTP {}", status.as_u16());
    if let Some(detail) = detail {
        text.push_str(": ");
        text.push_str(&detail);
    }
    if status == reqwest::StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
        PhoneError::Unavailable(text)
    } else {
        PhoneError::Refused(text)
    }
}

/// The HTTP client both providers use: bounded in time, no redirects (a redirected POST would
/// turn into a GET and lose the call), no credentials sent anywhere but the configured URL.
pub(crate) fn http_client(request_timeout: std::time::Duration) -> Result<reqwest::Client, PhoneError> {
    reqwest::Client::builder()
        .timeout(request_timeout)
        .connect_timeout(request_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("floorbot/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|err| PhoneError::Refused(format!("cannot build the HTTP client: {}", err.without_url())))
}

#[cfg(test)]
pub(crate) mod test_server {
    //! A one-shot HTTP/1.1 server on 127.0.0.1 that records what it receives and answers with
    //! canned responses, one connection per response.

    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};
    use tokio::task::JoinHandle;

    /// One request as received.
    #[derive(Debug)]
    pub struct Recorded {
        pub method: String,
        pub path: String,
        /// Header names in lower case.
        pub headers: Vec<(String, String)>,
        pub body: Vec<u8>,
    }

    impl Recorded {
        pub fn header(&self, name: &str) -> Option<&str> {
            self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
        }

        pub fn form(&self) -> Vec<(String, String)> {
            url::form_urlencoded::parse(&self.body).into_owned().collect()
        }
    }

    /// Starts a server that answers the given (status, body) pairs in order, then stops.
    /// Returns its base URL and a handle yielding what it recorded.
    pub async fn serve(responses: Vec<(u16, &'static str)>) -> (url::Url, JoinHandle<Vec<Recorded>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let handle = tokio::spawn(async move {
            let mut recorded = Vec::new();
            for (status, body) in responses {
                let (mut stream, _) = listener.accept().await.unwrap();
                recorded.push(read_request(&mut stream).await);
                let response = format!(
                    "HTTP/1.1 {status} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
                     Connection: close\r\n\r\n{body}",
                    reason(status),
                    body.len()
                );
                stream.write_all(response.as_bytes()).await.unwrap();
                stream.shutdown().await.unwrap();
            }
            recorded
        });
        (url::Url::parse(&format!("http://{address}")).unwrap(), handle)
    }

    /// Starts a server that accepts one connection and never answers.
    pub async fn silent() -> (url::Url, JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let handle = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(5)).await;
            drop(stream);
        });
        (url::Url::parse(&format!("http://{address}")).unwrap(), handle)
    }

    /// A URL on which nothing listens.
    pub async fn closed() -> url::Url {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        drop(listener);
        url::Url::parse(&format!("http://{address}")).unwrap()
    }

    async fn read_request(stream: &mut TcpStream) -> Recorded {
        let mut data = Vec::new();
        let mut buffer = [0u8; 4096];
        let head_end = loop {
            if let Some(at) = data.windows(4).position(|w| w == b"\r\n\r\n") {
                break at;
            }
            let n = stream.read(&mut buffer).await.unwrap();
            assert!(n > 0, "connection closed before the request head ended");
            data.extend_from_slice(&buffer[..n]);
        };
        let head = String::from_utf8(data[..head_end].to_vec()).unwrap();
        let mut lines = head.split("\r\n");
        let mut request_line = lines.next().unwrap().split(' ');
        let method = request_line.next().unwrap().to_owned();
        let path = request_line.next().unwrap().to_owned();
        let headers: Vec<(String, String)> = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
            .collect();
        let length: usize = headers.iter().find(|(n, _)| n == "content-length").map_or(0, |(_, v)| v.parse().unwrap());
        let mut body = data[head_end + 4..].to_vec();
        while body.len() < length {
            let n = stream.read(&mut buffer).await.unwrap();
            assert!(n > 0, "connection closed before the request body ended");
            body.extend_from_slice(&buffer[..n]);
        }
        Recorded { method, path, headers, body }
    }

    fn reason(status: u16) -> &'static str {
        match status {
            200 => "OK",
            201 => "Created",
            204 => "No Content",
            301 => "Moved Permanently",
            400 => "Bad Request",
            401 => "Unauthorized",
            404 => "Not Found",
            429 => "Too Many Requests",
            500 => "Internal Server Error",
            503 => "Service Unavailable",
            _ => "Whatever",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_status_parses_every_twilio_status() {
        let cases = [
            ("queued", CallStatus::Queued),
            ("initiated", CallStatus::Queued),
            ("ringing", CallStatus::Ringing),
            ("in-progress", CallStatus::InProgress),
            ("completed", CallStatus::Completed),
            ("busy", CallStatus::Busy),
            ("no-answer", CallStatus::NoAnswer),
            ("failed", CallStatus::Failed),
            ("canceled", CallStatus::Canceled),
        ];
        for (text, status) in cases {
            assert_eq!(CallStatus::parse(text), Some(status), "{text}");
        }
        for unknown in ["", "Completed", "cancelled", "answered", "no answer"] {
            assert_eq!(CallStatus::parse(unknown), None, "{unknown}");
        }
    }

    #[test]
    fn call_status_round_trips_and_classifies() {
        let all = [
            CallStatus::Queued,
            CallStatus::Ringing,
            CallStatus::InProgress,
            CallStatus::Completed,
            CallStatus::Busy,
            CallStatus::NoAnswer,
            CallStatus::Failed,
            CallStatus::Canceled,
        ];
        for status in all {
            assert_eq!(CallStatus::parse(status.as_str()), Some(status));
            assert_eq!(status.to_string(), status.as_str());
            // A final call either was answered or failed; a live one is neither failed nor final.
            if status.is_final() {
                assert_ne!(status.was_answered(), status.is_failure(), "{status}");
            } else {
                assert!(!status.is_failure(), "{status}");
            }
        }
        let finals: Vec<_> = all.into_iter().filter(|s| s.is_final()).collect();
        assert_eq!(
            finals,
            [CallStatus::Completed, CallStatus::Busy, CallStatus::NoAnswer, CallStatus::Failed, CallStatus::Canceled]
        );
        let answered: Vec<_> = all.into_iter().filter(|s| s.was_answered()).collect();
        assert_eq!(answered, [CallStatus::InProgress, CallStatus::Completed]);
        let failures: Vec<_> = all.into_iter().filter(|s| s.is_failure()).collect();
        assert_eq!(failures, [CallStatus::Busy, CallStatus::NoAnswer, CallStatus::Failed, CallStatus::Canceled]);
    }

    #[test]
    fn mask_digits_hides_number_like_runs_only() {
        assert_eq!(
            mask_digits("The 'To' number +8613800138000 is not a valid phone number."),
            "The 'To' number +••••••••••••• is not a valid phone number."
        );
        assert_eq!(mask_digits("call +86 138-0013 (8000) now"), "call +•• •••-•••• (••••) now");
        assert_eq!(mask_digits("1234567"), "•••••••");
        assert_eq!(mask_digits("error 21211 at 123456"), "error 21211 at 123456");
        assert_eq!(mask_digits("ids 12 34 5. done"), "ids 12 34 5. done");
        assert_eq!(mask_digits("号码13800138000无效"), "号码•••••••••••无效");
        assert_eq!(mask_digits(""), "");
    }

    #[test]
    fn safe_detail_caps_the_length() {
        let long = "x".repeat(500);
        let detail = safe_detail(&long);
        assert_eq!(detail.chars().count(), MAX_DETAIL_CHARS + 1);
        assert!(detail.ends_with('…'));
        assert_eq!(safe_detail("  short  "), "short");
    }

    #[test]
    fn call_request_debug_shows_no_number() {
        let call = CallRequest {
            to: "+8613800138000".to_owned(),
            text: "call back 13900139000".to_owned(),
            lang: Lang::En,
            incidents: vec![7],
        };
        let debug = format!("{call:?}");
        assert!(!debug.contains("13800138000"), "{debug}");
        assert!(!debug.contains("13900139000"), "{debug}");
        assert!(debug.contains("incidents: [7]"), "{debug}");
    }

    #[test]
    fn status_errors_split_retryable_from_refused() {
        use reqwest::StatusCode;
        assert!(status_error(StatusCode::TOO_MANY_REQUESTS, None).is_retryable());
        assert!(status_error(StatusCode::SERVICE_UNAVAILABLE, None).is_retryable());
        assert!(status_error(StatusCode::INTERNAL_SERVER_ERROR, None).is_retryable());
        assert!(!status_error(StatusCode::BAD_REQUEST, None).is_retryable());
        assert!(!status_error(StatusCode::UNAUTHORIZED, None).is_retryable());
        assert!(!status_error(StatusCode::MOVED_PERMANENTLY, None).is_retryable());
        assert_eq!(
            status_error(StatusCode::NOT_FOUND, Some("gone".to_owned())),
            PhoneError::Refused("HTTP 404: gone".to_owned())
        );
    }
}
