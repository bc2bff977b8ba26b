//! What a test does with a running fake: pushes updates, sets up chats, members, answers
//! and failures, turns the flood limits on or off, and reads back what the bot sent.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;

use super::limits::CHARGED_METHODS;
use super::state::{ApiError, param_i64};
use super::{Failure, FakeTelegram, RateLimits, Recorded};

/// Edits of a message's content or keyboard, as listed by [`FakeTelegram::edits_of`].
const EDIT_METHODS: &[&str] = &["editMessageText", "editMessageCaption", "editMessageReplyMarkup", "editMessageMedia"];

#[allow(dead_code)]
impl FakeTelegram {
    /// Queues an update (an object without `update_id`; ids are assigned in increasing
    /// order) and wakes pending long polls. Returns the assigned `update_id`.
    pub fn push_update(&self, update: Value) -> i64 {
        let Value::Object(mut fields) = update else {
            panic!("push_update expects a JSON object");
        };
        let id = {
            let mut state = self.shared.lock();
            let id = state.next_update_id;
            state.next_update_id += 1;
            fields.insert("update_id".to_owned(), json!(id));
            let update = Value::Object(fields);
            state.absorb_update(&update);
            state.pending.push_back(update);
            id
        };
        self.shared.changed.notify_waiters();
        id
    }

    /// Allocates the next message id in `chat_id`. Messages the bot sends and messages
    /// tests push share this per-chat counter, so ids never collide.
    pub fn next_message_id(&self, chat_id: i64) -> i64 {
        self.shared.lock().allocate_message_id(chat_id)
    }

    /// Remembers a Chat object so that messages the bot sends there echo it. Chats seen
    /// in pushed updates are remembered automatically.
    pub fn remember_chat(&self, chat: Value) {
        let id = chat.get("id").and_then(Value::as_i64).expect("a chat object needs an integer id");
        self.shared.lock().chats.insert(id, chat);
    }

    /// Sets what getChatMember / getChatAdministrators report for this member
    /// (see [`chat_member_json`]). `my_chat_member` and `chat_member` updates pushed
    /// into the fake update this too.
    pub fn set_chat_member(&self, chat_id: i64, member: Value) {
        self.shared.lock().set_member(chat_id, member);
    }

    /// From now on answer every successful `method` call with `result`, for methods the
    /// fake has no useful built-in answer for.
    pub fn set_result(&self, method: &str, result: Value) {
        self.shared.lock().canned_results.insert(method.to_owned(), result);
    }

    /// The current state of a message the fake knows about (sent by the bot, or pushed
    /// in an update), with edits applied.
    pub fn message(&self, chat_id: i64, message_id: i64) -> Option<Value> {
        self.shared.lock().messages.get(&(chat_id, message_id)).cloned()
    }

    /// Every successful request the bot made, in order, except getUpdates.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.lock().requests.clone()
    }

    /// Successful requests of one method, in order.
    pub fn requests_for(&self, method: &str) -> Vec<Recorded> {
        self.shared.lock().requests.iter().filter(|r| r.method == method).cloned().collect()
    }

    /// Requests that were answered with an error (injected or genuine), in order.
    pub fn failed_requests(&self) -> Vec<Recorded> {
        self.shared.lock().failed.clone()
    }

    /// Waits until a successful request at index `from` or later in [`Self::requests`]
    /// satisfies `pred`, for at most `timeout`.
    pub async fn wait_for(&self, from: usize, timeout: Duration, pred: impl Fn(&Recorded) -> bool) -> Option<Recorded> {
        let deadline = Instant::now() + timeout;
        self.shared.wait_until(deadline, |state| state.requests.iter().skip(from).find(|r| pred(r)).cloned()).await
    }

    /// True once every pushed update has been confirmed by the bot (a getUpdates with an
    /// offset above its id), i.e. the bot has taken it; false on timeout.
    pub async fn wait_updates_consumed(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        self.shared.wait_until(deadline, |state| state.pending.is_empty().then_some(())).await.is_some()
    }

    /// Applies `failure` to every request (getUpdates included) until cleared with `None`.
    pub fn set_failure(&self, failure: Option<Failure>) {
        self.shared.lock().failure = failure;
    }

    /// Makes the next request of `method` fail with this error. Several calls queue
    /// several failures, used in order.
    pub fn fail_next(&self, method: &str, error_code: u16, description: &str, parameters: Option<Value>) {
        let error = ApiError { code: error_code, description: description.to_owned(), parameters };
        self.shared.lock().fail_next.entry(method.to_owned()).or_default().push_back(error);
    }

    /// Messages in this chat cannot be deleted by the bot: deleteMessage answers
    /// 400 "Bad Request: message can't be deleted".
    pub fn forbid_delete(&self, chat_id: i64) {
        self.shared.lock().undeletable_chats.insert(chat_id);
    }

    /// Every spec violation seen so far; tests assert this is empty at the end.
    pub fn violations(&self) -> Vec<String> {
        self.shared.lock().violations.clone()
    }

    /// Number of getUpdates requests served, failed ones included.
    pub fn get_updates_calls(&self) -> usize {
        self.shared.lock().get_updates_calls
    }

    /// Replaces the flood limits (on by default with [`RateLimits::default`]); `None` turns
    /// them off, e.g. for a test about something else that sends in bursts. Budgets already
    /// used stay used.
    pub fn set_limits(&self, limits: Option<RateLimits>) {
        if let Some(limits) = &limits {
            for (name, rate, burst) in [
                ("per_chat", limits.per_chat_per_second, limits.per_chat_burst),
                ("group", limits.group_per_minute, limits.group_burst),
                ("global", limits.global_per_second, limits.global_burst),
            ] {
                assert!(rate.is_finite() && rate > 0.0, "the {name} rate must be positive, is {rate}");
                assert!(burst >= 1, "the {name} burst must be at least 1");
            }
        }
        self.shared.lock().limits = limits;
    }

    /// Requests refused with 429 because they went over a flood limit (injected
    /// [`Failure::TooManyRequests`] answers are not counted).
    pub fn too_many_requests(&self) -> usize {
        self.shared.lock().limiter.refusals.values().sum()
    }

    /// Like [`Self::too_many_requests`], for requests to one chat.
    pub fn too_many_requests_in(&self, chat_id: i64) -> usize {
        self.shared.lock().limiter.refusals.get(&chat_id).copied().unwrap_or(0)
    }

    /// Successful edits of one message (text, caption, keyboard or media), in order: what a
    /// user saw change, e.g. to check that a status line was rewritten exactly once.
    pub fn edits_of(&self, chat_id: i64, message_id: i64) -> Vec<Recorded> {
        self.shared
            .lock()
            .requests
            .iter()
            .filter(|r| EDIT_METHODS.contains(&r.method.as_str()))
            .filter(|r| {
                param_i64(r.body.get("chat_id")) == Some(chat_id)
                    && param_i64(r.body.get("message_id")) == Some(message_id)
            })
            .cloned()
            .collect()
    }

    /// Successful sends and edits in one chat, i.e. the requests its flood budget paid for.
    pub fn sends_and_edits_in(&self, chat_id: i64) -> usize {
        self.shared
            .lock()
            .requests
            .iter()
            .filter(|r| {
                CHARGED_METHODS.contains(&r.method.as_str()) && param_i64(r.body.get("chat_id")) == Some(chat_id)
            })
            .count()
    }
}
