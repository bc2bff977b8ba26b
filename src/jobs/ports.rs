//! What jobs need from the edges, as traits the edges implement: a messenger that delivers
//! messages to Telegram within its limits, and a phone provider that places calls. Jobs name
//! these, never Telegram or Twilio.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, Utc};

use crate::domain::calls::CallStatus;
use crate::domain::outbound::{DeliveryError, Keyboard, Outgoing, Sent};
use crate::i18n::Lang;

/// A boxed future, so the traits stay usable as trait objects.
pub type PortFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Delivers messages to chats.
pub trait Messenger: Send + Sync {
    /// Sends a message (split into several if long); returns the messages sent.
    fn send<'a>(&'a self, chat_id: i64, message: Outgoing) -> PortFuture<'a, Result<Vec<Sent>, DeliveryError>>;

    /// Replaces a message's text and keyboard once (a prompt that changes after an answer).
    fn edit<'a>(
        &'a self,
        chat_id: i64,
        message_id: i32,
        html: String,
        keyboard: Option<Keyboard>,
    ) -> PortFuture<'a, Result<(), DeliveryError>>;

    /// Submits the latest render of a live message; it goes only if it changes something.
    /// `urgent` marks the first render after an acknowledgement or resolution.
    fn refresh<'a>(
        &'a self,
        chat_id: i64,
        message_id: i32,
        html: String,
        keyboard: Option<Keyboard>,
        urgent: bool,
    ) -> PortFuture<'a, anyhow::Result<()>>;
}

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

/// A call the provider accepted. `sid` is None when the provider cannot report status
/// (webhook): such a call counts as placed, with no outcome to follow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlacedCall {
    pub sid: Option<String>,
}

/// A call found at the provider by [`Phone::find_since`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FoundCall {
    pub sid: String,
    pub status: CallStatus,
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

/// The future returned by [`Phone`] methods.
pub type PhoneFuture<'a, T> = PortFuture<'a, Result<T, PhoneError>>;

/// A telephony provider.
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

/// Hides anything that could be a phone number: every digit of a run of 7 or more digits
/// (spaces, `-`, `.`, `(` and `)` between them do not break the run) becomes `•`.
pub fn mask_digits(text: &str) -> String {
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
        while j < chars.len() && (chars[j].is_ascii_digit() || matches!(chars[j], ' ' | '-' | '.' | '(' | ')')) {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
