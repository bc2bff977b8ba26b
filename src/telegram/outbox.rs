//! Everything floorbot sends to Telegram goes through here.
//!
//! Sends are queued by teloxide's `Throttle` (per-chat and global limits). On top of that this
//! module retries what Telegram or the network failed transiently (5xx, timeouts, 429 with its
//! `retry_after`), follows a group that became a supergroup, splits messages over 4,096
//! characters, stops writing to a group the bot was removed from, and treats "message is not
//! modified" as success.

use std::future::Future;
use std::time::Duration;

use sqlx::SqlitePool;
use teloxide::RequestError;
use teloxide::adaptors::Throttle;
use teloxide::payloads::{AnswerCallbackQuerySetters, EditMessageTextSetters, SendMessageSetters};
use teloxide::prelude::*;
use teloxide::types::{
    ForceReply, InlineKeyboardMarkup, LinkPreviewOptions, MessageId, ParseMode, ReplyMarkup, ReplyParameters,
};

use super::html::{MESSAGE_LIMIT, split};
use crate::clock::Clock;
use crate::team;

/// The bot as floorbot uses it: every request throttled.
pub type FloorBot = Throttle<Bot>;

/// How hard to try before giving up on a request.
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

/// Why something could not be delivered.
#[derive(Debug, Clone, thiserror::Error)]
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
    /// Telegram or the network kept failing through every retry.
    #[error("Telegram unavailable after retries: {0}")]
    Unavailable(String),
}

/// Extras for a sent message.
#[derive(Clone, Debug, Default)]
pub struct SendOptions {
    pub reply_to: Option<i32>,
    pub keyboard: Option<InlineKeyboardMarkup>,
    /// Ask the client to open a reply to this message (for step-by-step forms).
    pub force_reply: bool,
}

impl SendOptions {
    pub fn reply_to(message_id: i32) -> Self {
        Self { reply_to: Some(message_id), ..Self::default() }
    }
}

/// A message the bot sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sent {
    pub chat_id: i64,
    pub message_id: i32,
}

#[derive(Clone)]
pub struct Outbox {
    bot: FloorBot,
    db: SqlitePool,
    clock: std::sync::Arc<dyn Clock>,
    policy: RetryPolicy,
}

impl Outbox {
    pub fn new(bot: FloorBot, db: SqlitePool, clock: std::sync::Arc<dyn Clock>, policy: RetryPolicy) -> Self {
        Self { bot, db, clock, policy }
    }

    pub fn bot(&self) -> &FloorBot {
        &self.bot
    }

    /// Sends an HTML message, split into several if it is longer than Telegram allows (the
    /// keyboard goes on the last part, the reply on the first). Returns the messages sent.
    pub async fn send(&self, chat_id: i64, html: &str, options: SendOptions) -> Result<Vec<Sent>, SendError> {
        let mut chat_id = chat_id;
        if !team::chat_is_active(&self.db, chat_id).await.map_err(|e| SendError::Unavailable(e.to_string()))? {
            return Err(SendError::ChatGone);
        }
        let parts = split(html, MESSAGE_LIMIT);
        let count = parts.len();
        let mut sent = Vec::with_capacity(count);
        for (index, part) in parts.into_iter().enumerate() {
            let first = index == 0;
            let last = index + 1 == count;
            let reply_to = if first { options.reply_to } else { None };
            let markup = if last {
                match (&options.keyboard, options.force_reply) {
                    (Some(keyboard), _) => Some(ReplyMarkup::InlineKeyboard(keyboard.clone())),
                    (None, true) => Some(ReplyMarkup::ForceReply(ForceReply::new().selective())),
                    (None, false) => None,
                }
            } else {
                None
            };
            let message = self.send_one(&mut chat_id, &part, reply_to, markup).await?;
            sent.push(Sent { chat_id, message_id: message.id.0 });
        }
        Ok(sent)
    }

    async fn send_one(
        &self,
        chat_id: &mut i64,
        text: &str,
        reply_to: Option<i32>,
        markup: Option<ReplyMarkup>,
    ) -> Result<Message, SendError> {
        let mut migrated = false;
        loop {
            let target = *chat_id;
            let result = self
                .with_retry("sendMessage", || {
                    let mut request = self
                        .bot
                        .send_message(ChatId(target), text)
                        .parse_mode(ParseMode::Html)
                        .link_preview_options(no_preview());
                    if let Some(reply_to) = reply_to {
                        request = request
                            .reply_parameters(ReplyParameters::new(MessageId(reply_to)).allow_sending_without_reply());
                    }
                    if let Some(markup) = markup.clone() {
                        request = request.reply_markup(markup);
                    }
                    request.send()
                })
                .await;
            match result {
                Ok(message) => return Ok(message),
                // The group became a supergroup: move everything and try once more there.
                Err(RequestError::MigrateToChatId(new_chat)) if !migrated => {
                    migrated = true;
                    tracing::info!(old = target, new = new_chat.0, "group upgraded to a supergroup; following it");
                    if let Err(error) = team::migrate_chat(&self.db, target, new_chat.0, self.clock.now()).await {
                        tracing::error!(%error, "could not record the supergroup migration");
                    }
                    *chat_id = new_chat.0;
                }
                Err(error) => return Err(self.classify(target, error).await),
            }
        }
    }

    /// Replaces a message's text and keyboard. "Not modified" counts as success.
    pub async fn edit(
        &self,
        chat_id: i64,
        message_id: i32,
        html: &str,
        keyboard: Option<InlineKeyboardMarkup>,
    ) -> Result<(), SendError> {
        if !team::chat_is_active(&self.db, chat_id).await.map_err(|e| SendError::Unavailable(e.to_string()))? {
            return Err(SendError::ChatGone);
        }
        // An edit cannot become two messages; keep the first part and say so in the log.
        let mut parts = split(html, MESSAGE_LIMIT);
        if parts.len() > 1 {
            tracing::warn!(chat_id, message_id, parts = parts.len(), "edited text too long; showing its first part");
        }
        let text = if parts.is_empty() { html.to_owned() } else { parts.swap_remove(0) };
        let result = self
            .with_retry("editMessageText", || {
                let mut request = self
                    .bot
                    .edit_message_text(ChatId(chat_id), MessageId(message_id), &text)
                    .parse_mode(ParseMode::Html)
                    .link_preview_options(no_preview());
                if let Some(keyboard) = keyboard.clone() {
                    request = request.reply_markup(keyboard);
                }
                request.send()
            })
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error) if is_not_modified(&error) => Ok(()),
            Err(error) => Err(self.classify(chat_id, error).await),
        }
    }

    /// Answers a button press; `alert` shows a popup instead of a brief toast.
    pub async fn answer_callback(&self, callback_id: &str, text: Option<&str>, alert: bool) -> Result<(), SendError> {
        let result = self
            .with_retry("answerCallbackQuery", || {
                let mut request =
                    self.bot.answer_callback_query(teloxide::types::CallbackQueryId(callback_id.to_owned()));
                if let Some(text) = text {
                    request = request.text(text).show_alert(alert);
                }
                request.send()
            })
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error) => Err(SendError::Refused(error.to_string())),
        }
    }

    /// Deletes a message if the bot may; returns whether it was deleted.
    pub async fn delete(&self, chat_id: i64, message_id: i32) -> bool {
        match self
            .with_retry("deleteMessage", || self.bot.delete_message(ChatId(chat_id), MessageId(message_id)).send())
            .await
        {
            Ok(_) => true,
            Err(error) => {
                tracing::info!(chat_id, message_id, %error, "could not delete a message");
                false
            }
        }
    }

    /// Runs a request, retrying transient failures with backoff and waiting out 429s.
    pub async fn with_retry<T, F, Fut>(&self, what: &'static str, mut call: F) -> Result<T, RequestError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, RequestError>>,
    {
        let mut failures = 0;
        let mut backoff = self.policy.first_backoff;
        loop {
            match call().await {
                Ok(value) => return Ok(value),
                Err(RequestError::RetryAfter(seconds)) if failures + 1 < self.policy.attempts * 2 => {
                    failures += 1;
                    tracing::warn!(request = what, retry_after = ?seconds.duration(), "Telegram asked to slow down");
                    tokio::time::sleep(seconds.duration()).await;
                }
                Err(error) if is_transient(&error) && failures + 1 < self.policy.attempts => {
                    failures += 1;
                    tracing::warn!(request = what, %error, attempt = failures, "Telegram request failed; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(self.policy.max_backoff);
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// Turns a final error into what callers act on, recording that the bot left a group.
    async fn classify(&self, chat_id: i64, error: RequestError) -> SendError {
        let text = error.to_string();
        let lower = text.to_lowercase();
        if is_transient(&error) || matches!(error, RequestError::RetryAfter(_)) {
            tracing::error!(chat_id, error = %text, "giving up on Telegram after retries");
            return SendError::Unavailable(text);
        }
        if chat_id > 0
            && (lower.contains("blocked") || lower.contains("initiate conversation") || lower.contains("deactivated"))
        {
            return SendError::PersonUnreachable;
        }
        if lower.contains("kicked") || lower.contains("not a member") || lower.contains("chat not found") {
            if chat_id < 0 {
                tracing::warn!(chat_id, "the bot is no longer in this group; marking it inactive");
                if let Err(error) = team::deactivate_chat(&self.db, chat_id, self.clock.now()).await {
                    tracing::error!(%error, "could not mark the chat inactive");
                }
                return SendError::ChatGone;
            }
            return SendError::PersonUnreachable;
        }
        tracing::error!(chat_id, error = %text, "Telegram refused a request");
        SendError::Refused(text)
    }
}

fn no_preview() -> LinkPreviewOptions {
    LinkPreviewOptions {
        is_disabled: true,
        url: None,
        prefer_small_media: false,
        prefer_large_media: false,
        show_above_text: false,
    }
}

fn is_not_modified(error: &RequestError) -> bool {
    matches!(error, RequestError::Api(teloxide::ApiError::MessageNotModified))
        || error.to_string().contains("message is not modified")
}

/// Failures worth retrying: the network, Telegram's 5xx, answers that are not Telegram's JSON.
fn is_transient(error: &RequestError) -> bool {
    match error {
        RequestError::Network(_) | RequestError::InvalidJson { .. } | RequestError::Io(_) => true,
        RequestError::Api(teloxide::ApiError::Unknown(description)) => {
            let lower = description.to_lowercase();
            [
                "bad gateway",
                "internal server error",
                "service unavailable",
                "gateway timeout",
                "timed out",
                "too many requests",
            ]
            .iter()
            .any(|needle| lower.contains(needle))
        }
        _ => false,
    }
}
