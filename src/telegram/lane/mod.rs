//! The one outbound lane: everything floorbot writes to Telegram — sends, edits, deletes,
//! documents — goes through here, within Telegram's limits.
//!
//! - **Budgets.** Each chat about one message a second (short bursts allowed), each group
//!   twenty a minute, the bot thirty a second; sends and edits draw on the same budgets
//!   ([`budget`]). A 429 blocks the whole chat for its `retry_after`.
//! - **Priorities.** When a chat's budget is short, escalation traffic (relays, mentions,
//!   private alerts) goes first, then replies, then edits of live messages. Chats never wait
//!   for each other.
//! - **Live messages are state.** A live message (a relay, a checklist) keeps at most one
//!   pending render; a newer one replaces it, one equal to what Telegram already shows (a
//!   hash kept in SQLite) is dropped, and edits of one message are spaced a few seconds apart
//!   — except the first one after an acknowledgement or resolution.
//! - **Digests.** Messages of one mergeable kind that queue for one chat merge into a single
//!   digest when their turn comes; [`Digest`] renders it and records where it went.
//! - **Exact wake-ups.** The dispatcher sleeps on the injected clock until the earliest moment
//!   something can go, or until new work arrives; an idle lane sends at once.
//!
//! Retries (5xx, network, 429) wait on the injected clock too.

pub mod api;
pub mod budget;
mod dispatch;

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use serde_json::Value;
use sqlx::SqlitePool;
use teloxide::types::InlineKeyboardMarkup;
use tokio::sync::{Notify, oneshot};
use tokio_util::sync::CancellationToken;

use self::api::BotApi;
pub use self::budget::{Limits, Rate};
use self::dispatch::{Item, LiveRender, State, Work};
use crate::clock::Clock;
use crate::team;

/// Which traffic goes first when a chat's budget is short.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    /// Relays to operations, mentions, private alerts.
    Escalation,
    /// Replies to commands and button presses.
    Reply,
    /// Edits of live messages.
    Edit,
}

/// Kinds of message that merge into a digest when they queue for one chat.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MergeKind {
    /// A relay to the cross-department group.
    Relay,
    /// The confirmation of a report in its team group.
    Confirmation,
    /// A mention of people in a team group about an unacknowledged incident.
    Mention,
    /// A private alert to one person.
    PrivateAlert,
    /// The reporter told that operations acknowledged or resolved.
    Notice,
}

/// One message's place in a digest: what it is about, and anything the digest needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MergeItem {
    pub subject: i64,
    pub detail: Option<String>,
}

/// A digest as rendered: its text and keyboard.
pub struct Rendered {
    pub html: String,
    pub keyboard: Option<InlineKeyboardMarkup>,
}

/// Renders digests and records where they went. Implemented above the lane, which knows
/// nothing of incidents.
pub trait Digest: Send + Sync {
    /// The digest for `items` (at least two) in `chat_id`. It must fit one message.
    fn render<'a>(
        &'a self,
        kind: MergeKind,
        chat_id: i64,
        items: &'a [MergeItem],
    ) -> BoxFuture<'a, anyhow::Result<Rendered>>;

    /// The digest was sent as `message_id`: record it for every item before anyone waiting
    /// on one of them hears back, so that a live digest is never redrawn with items missing.
    fn sent<'a>(
        &'a self,
        kind: MergeKind,
        chat_id: i64,
        message_id: i32,
        items: &'a [MergeItem],
    ) -> BoxFuture<'a, anyhow::Result<()>>;
}

/// Why something could not be delivered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The bot is no longer in that chat (removed, or the chat is gone).
    #[error("the bot can no longer post in this chat")]
    ChatGone,
    /// A private chat the person never started, or blocked.
    #[error("the person has not started the bot in private, or blocked it")]
    PersonUnreachable,
    /// Telegram refused the request for good.
    #[error("Telegram refused the request: {0}")]
    Refused(String),
    /// Telegram or the network kept failing through every retry, or the bot is stopping.
    #[error("Telegram unavailable: {0}")]
    Unavailable(String),
}

/// Extras for a sent message.
#[derive(Clone, Debug)]
pub struct SendOptions {
    pub reply_to: Option<i32>,
    pub keyboard: Option<InlineKeyboardMarkup>,
    /// Ask the client to open a reply to this message (for step-by-step forms).
    pub force_reply: bool,
    pub priority: Priority,
    /// Merge with queued messages of the same kind into a digest.
    pub merge: Option<(MergeKind, MergeItem)>,
    /// A live message: remember what it shows, so later edits change something.
    pub live: bool,
}

impl Default for SendOptions {
    fn default() -> Self {
        SendOptions {
            reply_to: None,
            keyboard: None,
            force_reply: false,
            priority: Priority::Reply,
            merge: None,
            live: false,
        }
    }
}

impl SendOptions {
    pub fn reply_to(message_id: i32) -> Self {
        Self { reply_to: Some(message_id), ..Self::default() }
    }

    pub fn escalation() -> Self {
        Self { priority: Priority::Escalation, ..Self::default() }
    }
}

/// A message the bot sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sent {
    pub chat_id: i64,
    pub message_id: i32,
}

/// How hard to try before giving up on a request; waits run on the injected clock.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// Attempts in all (the first one included) for transient failures.
    pub attempts: u32,
    pub first_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { attempts: 6, first_backoff: Duration::from_secs(1), max_backoff: Duration::from_secs(30) }
    }
}

impl RetryPolicy {
    /// The wait before attempt `failures + 1`: doubling from the first backoff, capped.
    pub fn backoff(&self, failures: u32) -> Duration {
        let factor = 2_u32.saturating_pow(failures.saturating_sub(1).min(16));
        self.first_backoff.saturating_mul(factor).min(self.max_backoff)
    }
}

/// A handle on the lane; cheap to clone.
#[derive(Clone)]
pub struct Lane {
    shared: Arc<Shared>,
}

struct Shared {
    api: BotApi,
    db: SqlitePool,
    clock: Arc<dyn Clock>,
    limits: Limits,
    retry: RetryPolicy,
    state: Mutex<State>,
    wake: Notify,
    digest: OnceLock<Arc<dyn Digest>>,
}

impl Lane {
    pub fn new(api: BotApi, db: SqlitePool, clock: Arc<dyn Clock>, limits: Limits, retry: RetryPolicy) -> Lane {
        Lane {
            shared: Arc::new(Shared {
                api,
                db,
                clock,
                limits,
                retry,
                state: Mutex::new(State::default()),
                wake: Notify::new(),
                digest: OnceLock::new(),
            }),
        }
    }

    /// Sets what renders digests; without one, mergeable messages go one by one.
    pub fn set_digest(&self, digest: Arc<dyn Digest>) {
        let _ = self.shared.digest.set(digest);
    }

    /// The Bot API client, for requests that are not messages (menus, member lookups).
    pub fn api(&self) -> &BotApi {
        &self.shared.api
    }

    /// Runs the dispatcher until `shutdown`; then fails what is still queued.
    pub async fn run(&self, shutdown: CancellationToken) {
        dispatch::run(Arc::clone(&self.shared), shutdown).await;
    }

    /// Sends an HTML message, split into several if it is longer than Telegram allows (the
    /// keyboard goes on the last part, the reply on the first). Returns the messages sent.
    pub async fn send(&self, chat_id: i64, html: &str, options: SendOptions) -> Result<Vec<Sent>, SendError> {
        self.ensure_active(chat_id).await?;
        let (done, result) = oneshot::channel();
        let work = Work::send(html, options, done);
        self.submit(chat_id, work)?;
        result.await.unwrap_or_else(|_| Err(SendError::Unavailable("the bot is stopping".to_owned())))
    }

    /// Replaces a message's text and keyboard once (a prompt that changes after an answer).
    /// Not for live messages, which go through [`Lane::refresh`].
    pub async fn edit(
        &self,
        chat_id: i64,
        message_id: i32,
        html: &str,
        keyboard: Option<InlineKeyboardMarkup>,
    ) -> Result<(), SendError> {
        self.ensure_active(chat_id).await?;
        let (done, result) = oneshot::channel();
        self.submit(chat_id, Work::edit(message_id, html, keyboard, done))?;
        result.await.unwrap_or_else(|_| Err(SendError::Unavailable("the bot is stopping".to_owned())))
    }

    /// Deletes a message; returns whether it was deleted. Call only where the bot knows it
    /// may delete.
    pub async fn delete(&self, chat_id: i64, message_id: i32) -> bool {
        let (done, result) = oneshot::channel();
        if self.submit(chat_id, Work::delete(message_id, done)).is_err() {
            return false;
        }
        result.await.unwrap_or(false)
    }

    /// Submits the latest render of a live message. It replaces any render still waiting,
    /// and goes only if it differs from what the message shows. `urgent` marks the first
    /// render after an acknowledgement or resolution, which skips the spacing between edits.
    pub async fn refresh(
        &self,
        chat_id: i64,
        message_id: i32,
        html: &str,
        keyboard: Option<InlineKeyboardMarkup>,
        urgent: bool,
    ) -> anyhow::Result<()> {
        if !team::chat_is_active(&self.shared.db, chat_id).await? {
            return Ok(());
        }
        let render = LiveRender::new(html, keyboard.as_ref().map(keyboard_json));
        if self.shared.known_hash(chat_id, message_id).is_none() {
            let stored = dispatch::stored_hash(&self.shared.db, chat_id, message_id).await?;
            self.shared.lock().remember_hash(chat_id, message_id, stored);
        }
        let changed = self.shared.lock().submit_render(chat_id, message_id, render, urgent);
        if changed {
            self.shared.wake.notify_one();
        }
        Ok(())
    }

    /// Answers a button press; `alert` shows a popup instead of a brief toast. Telegram puts
    /// no budget on these, so they go at once.
    pub async fn answer_callback(&self, callback_id: &str, text: Option<&str>, alert: bool) -> Result<(), SendError> {
        let mut body = serde_json::json!({ "callback_query_id": callback_id });
        if let Some(text) = text {
            body["text"] = Value::from(text);
            body["show_alert"] = Value::from(alert);
        }
        self.call_with_retry("answerCallbackQuery", &body).await.map(|_| ())
    }

    /// A request that is not a message (menus, member lookups), retried on transient
    /// failures with the lane's policy, on the injected clock.
    pub async fn call_with_retry(&self, method: &str, body: &Value) -> Result<Value, SendError> {
        let mut failures = 0;
        loop {
            match self.shared.api.call(method, body).await {
                Ok(value) => return Ok(value),
                Err(api::ApiError::RetryAfter(wait)) if failures + 1 < self.shared.retry.attempts * 2 => {
                    failures += 1;
                    let until = self.shared.clock.now() + chrono::Duration::from_std(wait).unwrap_or_default();
                    self.shared.clock.sleep_until(until).await;
                }
                Err(api::ApiError::Transient(reason)) => {
                    failures += 1;
                    if failures >= self.shared.retry.attempts {
                        return Err(SendError::Unavailable(reason));
                    }
                    let wait = self.shared.retry.backoff(failures);
                    let until = self.shared.clock.now() + chrono::Duration::from_std(wait).unwrap_or_default();
                    self.shared.clock.sleep_until(until).await;
                }
                Err(error) => return Err(SendError::Refused(error.description())),
            }
        }
    }

    async fn ensure_active(&self, chat_id: i64) -> Result<(), SendError> {
        match team::chat_is_active(&self.shared.db, chat_id).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(SendError::ChatGone),
            Err(error) => Err(SendError::Unavailable(error.to_string())),
        }
    }

    fn submit(&self, chat_id: i64, work: Work) -> Result<(), SendError> {
        {
            let mut state = self.shared.lock();
            if state.stopped {
                return Err(SendError::Unavailable("the bot is stopping".to_owned()));
            }
            let item = Item::new(state.next_seq(), work);
            state.chat(chat_id).queue.push(item);
        }
        self.shared.wake.notify_one();
        Ok(())
    }
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the queues half-changed in a way that
        // matters more than stopping would; carry on with what is there.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn known_hash(&self, chat_id: i64, message_id: i32) -> Option<()> {
        self.lock().hash_known(chat_id, message_id).then_some(())
    }

    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }
}

/// The keyboard as the Bot API wants it.
pub fn keyboard_json(keyboard: &InlineKeyboardMarkup) -> Value {
    serde_json::to_value(keyboard).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let policy =
            RetryPolicy { attempts: 6, first_backoff: Duration::from_secs(1), max_backoff: Duration::from_secs(5) };
        let waits: Vec<u64> = (1..=5).map(|failures| policy.backoff(failures).as_secs()).collect();
        assert_eq!(waits, vec![1, 2, 4, 5, 5]);
    }

    #[test]
    fn escalation_goes_before_replies_and_replies_before_edits() {
        assert!(Priority::Escalation < Priority::Reply);
        assert!(Priority::Reply < Priority::Edit);
    }
}
