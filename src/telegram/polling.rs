//! Receiving updates: long polling of `getUpdates` through the lane's thin Bot API client,
//! handed to teloxide's dispatcher as an update listener.
//!
//! A failed poll waits before the next one on the injected clock — Telegram's own
//! `retry_after` for a 429, a doubling backoff for an outage — rather than teloxide's fixed
//! ten seconds of real time after every 5xx. An update that does not parse is skipped (and
//! logged), never retried forever. On stop, one last call confirms the updates already
//! handled, so that a restart does not see them again.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use futures::Stream;
use serde_json::{Value, json};
use teloxide::stop::{StopFlag, StopToken, mk_stop_token};
use teloxide::types::{AllowedUpdate, Update};
use teloxide::update_listeners::{StatefulListener, UpdateListener};

use super::lane::api::{ApiError, BotApi};
use crate::clock::Clock;
use crate::domain::retry::Backoff;

/// The polling state the listener owns.
pub struct Poller {
    api: BotApi,
    clock: Arc<dyn Clock>,
    /// How long one `getUpdates` may wait for news.
    timeout: Duration,
    retry: Backoff,
    /// The next update id wanted: every update before it was handed over.
    offset: i64,
    allowed_updates: Option<Vec<AllowedUpdate>>,
    buffer: VecDeque<Update>,
    failures: u32,
    stop_token: StopToken,
    stop_flag: StopFlag,
}

/// An update listener polling `api`.
pub fn listener(
    api: BotApi,
    clock: Arc<dyn Clock>,
    timeout: Duration,
    retry: Backoff,
) -> impl UpdateListener<Err = Infallible> {
    let (stop_token, stop_flag) = mk_stop_token();
    let poller = Poller {
        api,
        clock,
        timeout,
        retry,
        offset: 0,
        allowed_updates: None,
        buffer: VecDeque::new(),
        failures: 0,
        stop_token,
        stop_flag,
    };
    StatefulListener::new_with_hints(
        poller,
        updates,
        |poller: &mut Poller| poller.stop_token.clone(),
        Some(|poller: &mut Poller, hint: &mut dyn Iterator<Item = AllowedUpdate>| {
            poller.allowed_updates = Some(hint.collect());
        }),
    )
}

fn updates(poller: &mut Poller) -> impl Stream<Item = Result<Update, Infallible>> + Send + '_ {
    futures::stream::unfold(poller, |poller| async move {
        let update = poller.next().await?;
        Some((Ok(update), poller))
    })
}

impl Poller {
    /// The next update, or None once stopped.
    async fn next(&mut self) -> Option<Update> {
        loop {
            if let Some(update) = self.buffer.pop_front() {
                return Some(update);
            }
            if self.stop_flag.is_stopped() {
                self.confirm_handled().await;
                return None;
            }
            let mut body = json!({ "offset": self.offset, "timeout": self.timeout.as_secs() });
            if let Some(allowed) = &self.allowed_updates {
                body["allowed_updates"] = json!(allowed);
            }
            let result = tokio::select! {
                _ = &mut self.stop_flag => continue,
                result = self.api.call("getUpdates", &body) => result,
            };
            let wait = match result {
                Ok(updates) => {
                    self.failures = 0;
                    self.take(updates);
                    continue;
                }
                Err(ApiError::RetryAfter(wait)) => {
                    tracing::warn!(retry_after = ?wait, "Telegram asked to poll more slowly");
                    wait
                }
                Err(error) => {
                    self.failures += 1;
                    let wait = self.retry.after(self.failures).unwrap_or(self.retry.max);
                    tracing::warn!(error = error.description(), retry_in = ?wait, "getting updates failed");
                    wait
                }
            };
            let until = self.clock.now() + chrono::Duration::from_std(wait).unwrap_or_default();
            tokio::select! {
                _ = &mut self.stop_flag => {}
                _ = self.clock.sleep_until(until) => {}
            }
        }
    }

    /// Queues the updates of one answer and moves the offset past them.
    fn take(&mut self, updates: Value) {
        let Value::Array(updates) = updates else {
            tracing::warn!("getUpdates answered something that is not a list");
            return;
        };
        for raw in updates {
            let Some(id) = raw["update_id"].as_i64() else {
                tracing::warn!("an update without an id was skipped");
                continue;
            };
            self.offset = self.offset.max(id + 1);
            // From text, not from the `Value`: teloxide reads an update's kind from a borrowed
            // key, which a `Value` cannot lend, and would see every update as unknown.
            match serde_json::from_str::<Update>(&raw.to_string()) {
                Ok(update) => self.buffer.push_back(update),
                Err(error) => tracing::warn!(update_id = id, %error, "an update that does not parse was skipped"),
            }
        }
    }

    /// Tells Telegram that every update before the offset was handled.
    async fn confirm_handled(&self) {
        if self.offset == 0 {
            return;
        }
        let body = json!({ "offset": self.offset, "timeout": 0, "limit": 1 });
        if let Err(error) = self.api.call("getUpdates", &body).await {
            tracing::warn!(error = error.description(), "could not confirm the last updates");
        }
    }
}
