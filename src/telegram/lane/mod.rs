//! The one outbound lane: everything floorbot writes to Telegram — sends, edits, deletes —
//! goes through here, within Telegram's limits.
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
//! Retries (5xx, network, 429) wait on the injected clock too. The lane is the jobs'
//! [`Messenger`].

pub mod api;
pub mod budget;
mod perform;
mod queue;
mod shared;

use std::sync::{Arc, Mutex, OnceLock};

use serde_json::Value;
use tokio::sync::{Notify, oneshot};
use tokio_util::sync::CancellationToken;

use self::api::BotApi;
pub use self::budget::{Limits, Rate};
use self::queue::{Item, LiveRender, State, Work, stopping};
pub use self::shared::Digest;
use self::shared::Shared;
use crate::clock::Clock;
use crate::db;
use crate::db::Pool;
use crate::domain::outbound::{DeliveryError, Keyboard, Outgoing, Sent};
use crate::domain::retry::Backoff;
use crate::jobs::ports::{Messenger, PortFuture};
use crate::telegram::callback::keyboard_json;

/// A handle on the lane; cheap to clone.
#[derive(Clone)]
pub struct Lane {
    shared: Arc<Shared>,
}

impl Lane {
    pub fn new(api: BotApi, db: Pool, clock: Arc<dyn Clock>, limits: Limits, retry: Backoff) -> Lane {
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

    /// Runs the dispatcher until `shutdown`; then fails what is still queued.
    pub async fn run(&self, shutdown: CancellationToken) {
        perform::run(Arc::clone(&self.shared), shutdown).await;
    }

    /// How many sends, edits and deletes wait for their turn in a chat (live renders and
    /// requests in flight not counted).
    pub fn waiting(&self, chat_id: i64) -> usize {
        self.shared.lock().waiting(chat_id)
    }

    /// Sends an HTML message, split into several if it is longer than Telegram allows (the
    /// keyboard goes on the last part, the reply on the first). Returns the messages sent.
    pub async fn send(&self, chat_id: i64, message: Outgoing) -> Result<Vec<Sent>, DeliveryError> {
        self.ensure_active(chat_id).await?;
        let (done, result) = oneshot::channel();
        self.submit(chat_id, Work::send(message, done))?;
        result.await.unwrap_or_else(|_| Err(stopping()))
    }

    /// Replaces a message's text and keyboard once (a prompt that changes after an answer).
    /// Not for live messages, which go through [`Lane::refresh`].
    pub async fn edit(
        &self,
        chat_id: i64,
        message_id: i32,
        html: &str,
        keyboard: Option<Keyboard>,
    ) -> Result<(), DeliveryError> {
        self.ensure_active(chat_id).await?;
        let (done, result) = oneshot::channel();
        self.submit(chat_id, Work::edit(message_id, html, keyboard.as_ref().map(keyboard_json), done))?;
        result.await.unwrap_or_else(|_| Err(stopping()))
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
        keyboard: Option<Keyboard>,
        urgent: bool,
    ) -> anyhow::Result<()> {
        if !db::chats::chat_is_active(&self.shared.db, chat_id).await? {
            return Ok(());
        }
        let render = LiveRender::new(html, keyboard.as_ref().map(keyboard_json));
        if !self.shared.lock().hash_known(chat_id, message_id) {
            let stored = db::live::shown(&self.shared.db, chat_id, message_id).await?;
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
    pub async fn answer_callback(
        &self,
        callback_id: &str,
        text: Option<&str>,
        alert: bool,
    ) -> Result<(), DeliveryError> {
        let mut body = serde_json::json!({ "callback_query_id": callback_id });
        if let Some(text) = text {
            body["text"] = Value::from(text);
            body["show_alert"] = Value::from(alert);
        }
        self.call_with_retry("answerCallbackQuery", &body).await.map(|_| ())
    }

    /// A request that is not a message (menus, member lookups), retried on transient
    /// failures with the lane's policy, on the injected clock.
    pub async fn call_with_retry(&self, method: &str, body: &Value) -> Result<Value, DeliveryError> {
        let mut failures = 0;
        let mut rate_limited = 0;
        loop {
            let wait = match self.shared.api.call(method, body).await {
                Ok(value) => return Ok(value),
                Err(api::ApiError::RetryAfter(wait)) if rate_limited < self.shared.retry.attempts => {
                    rate_limited += 1;
                    wait
                }
                Err(api::ApiError::Transient(reason)) => {
                    failures += 1;
                    self.shared.retry.after(failures).ok_or(DeliveryError::Unavailable(reason))?
                }
                Err(error) => return Err(DeliveryError::Refused(error.description())),
            };
            let until = self.shared.now() + chrono::Duration::from_std(wait).unwrap_or_default();
            self.shared.clock.sleep_until(until).await;
        }
    }

    async fn ensure_active(&self, chat_id: i64) -> Result<(), DeliveryError> {
        match db::chats::chat_is_active(&self.shared.db, chat_id).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(DeliveryError::ChatGone),
            Err(error) => Err(DeliveryError::Unavailable(error.to_string())),
        }
    }

    fn submit(&self, chat_id: i64, work: Work) -> Result<(), DeliveryError> {
        {
            let mut state = self.shared.lock();
            if state.stopped {
                return Err(stopping());
            }
            let item = Item::new(state.next_seq(), work);
            state.chat(chat_id).queue.push(item);
        }
        self.shared.wake.notify_one();
        Ok(())
    }
}

impl Messenger for Lane {
    fn send<'a>(&'a self, chat_id: i64, message: Outgoing) -> PortFuture<'a, Result<Vec<Sent>, DeliveryError>> {
        Box::pin(Lane::send(self, chat_id, message))
    }

    fn edit<'a>(
        &'a self,
        chat_id: i64,
        message_id: i32,
        html: String,
        keyboard: Option<Keyboard>,
    ) -> PortFuture<'a, Result<(), DeliveryError>> {
        Box::pin(async move { Lane::edit(self, chat_id, message_id, &html, keyboard).await })
    }

    fn refresh<'a>(
        &'a self,
        chat_id: i64,
        message_id: i32,
        html: String,
        keyboard: Option<Keyboard>,
        urgent: bool,
    ) -> PortFuture<'a, anyhow::Result<()>> {
        Box::pin(async move { Lane::refresh(self, chat_id, message_id, &html, keyboard, urgent).await })
    }
}
