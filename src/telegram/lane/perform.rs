//! Carrying out the plan: each dispatch becomes one Bot API request, and its answer decides
//! what happens to the queues — done, retried later (5xx, network), the chat blocked (429),
//! followed to a supergroup, or failed for good.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::api::{ApiError, no_preview, sent_message};
use super::queue::{Dispatch, Item, LiveRender, SendWork, Work, content_hash};
use super::shared::Shared;
use crate::db;
use crate::domain::outbound::{DeliveryError, MergeItem, MergeKind, Sent};
use crate::html::{MESSAGE_LIMIT, split};
use crate::telegram::callback::keyboard_json;

/// Runs the dispatcher until `shutdown`.
pub(super) async fn run(shared: Arc<Shared>, shutdown: CancellationToken) {
    loop {
        let now = shared.now();
        let can_merge = shared.digest.get().is_some();
        let (dispatches, wake) = shared.lock().plan(now, &shared.limits, can_merge);
        for dispatch in dispatches {
            tokio::spawn(perform(Arc::clone(&shared), dispatch));
        }
        let sleep = async {
            match wake {
                Some(at) => shared.clock.sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = shared.wake.notified() => {}
            _ = sleep => {}
        }
    }
    shared.lock().stop();
}

async fn store_hash(shared: &Shared, chat_id: i64, message_id: i32, hash: &str) {
    let result = db::live::set_shown(&shared.db, chat_id, message_id, hash, shared.now()).await;
    if let Err(error) = result {
        tracing::warn!(chat_id, message_id, %error, "could not store what a live message shows");
    }
}

async fn perform(shared: Arc<Shared>, dispatch: Dispatch) {
    match dispatch {
        Dispatch::Live { chat_id, message_id, render, urgent } => {
            perform_live(&shared, chat_id, message_id, render, urgent).await;
        }
        Dispatch::Queue { chat_id, item, merged } => perform_item(&shared, chat_id, item, merged).await,
    }
    shared.wake.notify_one();
}

/// The body of a sendMessage.
fn message_body(chat_id: i64, text: &str, reply_to: Option<i32>, markup: Option<Value>) -> Value {
    let mut body = json!({
        "chat_id": chat_id,
        "text": text,
        "parse_mode": "HTML",
        "link_preview_options": no_preview(),
    });
    if let Some(reply_to) = reply_to {
        body["reply_parameters"] = json!({ "message_id": reply_to, "allow_sending_without_reply": true });
    }
    if let Some(markup) = markup {
        body["reply_markup"] = markup;
    }
    body
}

/// The body of an editMessageText; without a keyboard the message loses its buttons.
fn edit_body(chat_id: i64, message_id: i32, text: &str, keyboard: Option<&Value>) -> Value {
    let mut body = json!({
        "chat_id": chat_id,
        "message_id": message_id,
        "text": text,
        "parse_mode": "HTML",
        "link_preview_options": no_preview(),
    });
    if let Some(keyboard) = keyboard {
        body["reply_markup"] = keyboard.clone();
    }
    body
}

/// An edit cannot become two messages; a render too long keeps its first part.
fn one_part(chat_id: i64, html: &str) -> String {
    let mut parts = split(html, MESSAGE_LIMIT);
    if parts.len() > 1 {
        tracing::warn!(chat_id, parts = parts.len(), "edited text too long; showing its first part");
    }
    if parts.is_empty() { html.to_owned() } else { parts.swap_remove(0) }
}

async fn perform_live(shared: &Shared, chat_id: i64, message_id: i32, render: LiveRender, urgent: bool) {
    let text = one_part(chat_id, &render.html);
    // Edits are spaced from when they were sent, not from when the answer came back.
    let sent_at = shared.now();
    let result =
        shared.api.call("editMessageText", &edit_body(chat_id, message_id, &text, render.keyboard.as_ref())).await;
    let now = shared.now();
    let outcome = match result {
        Ok(_) => Ok(()),
        Err(error) if error.is_not_modified() => {
            tracing::warn!(chat_id, message_id, "an edit changed nothing; the stored state was stale");
            Ok(())
        }
        Err(error) => Err(error),
    };
    if outcome.is_ok() {
        store_hash(shared, chat_id, message_id, &render.hash).await;
    }
    let gone = match &outcome {
        Err(error @ ApiError::Refused { .. }) => refusal(chat_id, &error.description()) == DeliveryError::ChatGone,
        _ => false,
    };
    if gone {
        left_group(shared, chat_id).await;
    }
    let mut state = shared.lock();
    if gone {
        state.drop_chat(chat_id);
        state.release(chat_id);
        return;
    }
    let retry = shared.retry;
    let chat = state.chat(chat_id);
    chat.busy = false;
    let live = chat.live.entry(message_id).or_default();
    live.busy = false;
    match outcome {
        Ok(()) => {
            live.shown = Some(render.hash);
            live.last_edit_at = Some(sent_at);
            live.failures = 0;
            live.not_before = None;
            // A render that arrived meanwhile and equals what now shows is moot.
            if live.pending.as_ref().is_some_and(|pending| Some(&pending.hash) == live.shown.as_ref()) {
                live.pending = None;
                live.urgent = false;
            }
        }
        Err(ApiError::RetryAfter(wait)) => {
            if live.pending.is_none() {
                live.pending = Some(render);
                live.urgent |= urgent;
            }
            chat.blocked_until = Some(now + chrono::Duration::from_std(wait).unwrap_or_default());
        }
        Err(ApiError::Transient(reason)) => {
            live.failures += 1;
            if let Some(wait) = retry.after(live.failures) {
                if live.pending.is_none() {
                    live.pending = Some(render);
                    live.urgent |= urgent;
                }
                live.not_before = Some(now + chrono::Duration::from_std(wait).unwrap_or_default());
            } else {
                tracing::error!(chat_id, message_id, %reason, "giving up on an edit after retries");
                live.failures = 0;
            }
        }
        Err(error) => {
            // Deleted, too old to edit, or a group that moved: this message stays as it is.
            tracing::warn!(chat_id, message_id, error = error.description(), "a live message could not be edited");
        }
    }
}

async fn perform_item(shared: &Shared, chat_id: i64, mut item: Item, merged: Vec<Item>) {
    let request = match &item.work {
        Work::Send(send) if !merged.is_empty() => match digest_request(shared, chat_id, send, &merged).await {
            Some(request) => request,
            None => {
                // The digest could not be rendered: this one goes alone, the others wait.
                {
                    let mut state = shared.lock();
                    for other in merged {
                        state.requeue(chat_id, other);
                    }
                }
                return Box::pin(perform_item(shared, chat_id, item, Vec::new())).await;
            }
        },
        Work::Send(send) => {
            let first = send.sent.is_empty();
            let last = send.parts.len() <= 1;
            let text = send.parts.front().cloned().unwrap_or_default();
            let markup = if last {
                match (&send.keyboard, send.force_reply) {
                    (Some(keyboard), _) => Some(keyboard.clone()),
                    (None, true) => Some(json!({ "force_reply": true, "selective": true })),
                    (None, false) => None,
                }
            } else {
                None
            };
            let hash = (last && send.live).then(|| content_hash(&text, send.keyboard.as_ref()));
            Request {
                method: "sendMessage",
                body: message_body(chat_id, &text, if first { send.reply_to } else { None }, markup),
                hash,
                digest: None,
            }
        }
        Work::Edit { message_id, html, keyboard, .. } => {
            let text = one_part(chat_id, html);
            Request {
                method: "editMessageText",
                body: edit_body(chat_id, *message_id, &text, keyboard.as_ref()),
                hash: None,
                digest: None,
            }
        }
        Work::Delete { message_id, .. } => Request {
            method: "deleteMessage",
            body: json!({ "chat_id": chat_id, "message_id": message_id }),
            hash: None,
            digest: None,
        },
    };
    let sent_at = shared.now();
    let result = shared.api.call(request.method, &request.body).await;
    let now = shared.now();
    match result {
        Ok(value) => succeed(shared, chat_id, item, merged, request, &value, sent_at).await,
        Err(error) if error.is_not_modified() => {
            succeed(shared, chat_id, item, merged, request, &Value::Null, sent_at).await
        }
        Err(ApiError::RetryAfter(wait)) => {
            tracing::warn!(chat_id, retry_after = ?wait, "Telegram asked this chat to slow down");
            let mut state = shared.lock();
            let chat = state.chat(chat_id);
            chat.blocked_until = Some(now + chrono::Duration::from_std(wait).unwrap_or_default());
            chat.busy = false;
            state.requeue(chat_id, item);
            for other in merged {
                state.requeue(chat_id, other);
            }
        }
        Err(ApiError::Migrated(new_chat_id)) if !item.migrated => {
            tracing::info!(old = chat_id, new = new_chat_id, "group upgraded to a supergroup; following it");
            if let Err(error) = db::chats::migrate_chat(&shared.db, chat_id, new_chat_id, now).await {
                tracing::error!(%error, "could not record the supergroup migration");
            }
            let mut state = shared.lock();
            state.release(chat_id);
            item.migrated = true;
            let mut moving = vec![item];
            moving.extend(merged);
            if let Some(old) = state.chats.get_mut(&chat_id) {
                moving.append(&mut old.queue);
            }
            for moved in moving {
                state.requeue(new_chat_id, moved);
            }
        }
        Err(ApiError::Transient(reason)) => {
            item.failures += 1;
            let mut state = shared.lock();
            state.release(chat_id);
            if let Some(wait) = shared.retry.after(item.failures) {
                tracing::warn!(chat_id, attempt = item.failures, %reason, "Telegram request failed; retrying");
                item.not_before = Some(now + chrono::Duration::from_std(wait).unwrap_or_default());
                state.requeue(chat_id, item);
                for other in merged {
                    state.requeue(chat_id, other);
                }
            } else {
                tracing::error!(chat_id, %reason, "giving up on Telegram after retries");
                item.fail(DeliveryError::Unavailable(reason.clone()));
                for other in merged {
                    other.fail(DeliveryError::Unavailable(reason.clone()));
                }
            }
        }
        Err(error) => {
            let classified = refusal(chat_id, &error.description());
            match &classified {
                DeliveryError::ChatGone => left_group(shared, chat_id).await,
                DeliveryError::Refused(text) if !matches!(item.work, Work::Delete { .. }) => {
                    tracing::error!(chat_id, error = %text, "Telegram refused a request");
                }
                _ => {}
            }
            let mut state = shared.lock();
            state.release(chat_id);
            if classified == DeliveryError::ChatGone {
                state.drop_chat(chat_id);
            }
            if matches!(item.work, Work::Delete { .. }) {
                tracing::info!(chat_id, error = error.description(), "could not delete a message");
            }
            item.fail(classified.clone());
            for other in merged {
                other.fail(classified.clone());
            }
        }
    }
}

/// A request ready to go, with what to remember when it succeeds.
struct Request {
    method: &'static str,
    body: Value,
    /// The hash of a live message being sent.
    hash: Option<String>,
    /// The digest's kind and items, when this is one.
    digest: Option<(MergeKind, Vec<MergeItem>)>,
}

async fn digest_request(shared: &Shared, chat_id: i64, first: &SendWork, merged: &[Item]) -> Option<Request> {
    let digest = shared.digest.get()?;
    let (kind, _) = first.merge.as_ref()?;
    let items: Vec<MergeItem> = std::iter::once(first)
        .chain(merged.iter().filter_map(|item| match &item.work {
            Work::Send(send) => Some(send),
            _ => None,
        }))
        .filter_map(|send| send.merge.as_ref().map(|(_, item)| item.clone()))
        .collect();
    match digest.render(*kind, chat_id, &items).await {
        Ok(rendered) => {
            let keyboard = rendered.keyboard.as_ref().map(keyboard_json);
            let text = one_part(chat_id, &rendered.html);
            let live = first.live;
            let hash = live.then(|| content_hash(&text, keyboard.as_ref()));
            Some(Request {
                method: "sendMessage",
                body: message_body(chat_id, &text, None, keyboard),
                hash,
                digest: Some((*kind, items)),
            })
        }
        Err(error) => {
            tracing::error!(chat_id, error = format!("{error:#}"), "could not render a digest");
            None
        }
    }
}

async fn succeed(
    shared: &Shared,
    chat_id: i64,
    item: Item,
    merged: Vec<Item>,
    request: Request,
    value: &Value,
    sent_at: DateTime<Utc>,
) {
    let sent = sent_message(value).map(|sent| Sent { chat_id: sent.chat_id, message_id: sent.message_id });
    if let (Some(sent), Some(hash)) = (sent, &request.hash) {
        store_hash(shared, sent.chat_id, sent.message_id, hash).await;
    }
    if let (Some(sent), Some((kind, items))) = (sent, &request.digest)
        && let Some(digest) = shared.digest.get()
        && let Err(error) = digest.sent(*kind, sent.chat_id, sent.message_id, items).await
    {
        tracing::error!(chat_id, error = format!("{error:#}"), "could not record where a digest went");
    }
    let mut state = shared.lock();
    state.release(chat_id);
    if let (Some(sent), Some(hash)) = (sent, request.hash) {
        let live = state.chat(sent.chat_id).live.entry(sent.message_id).or_default();
        live.hash_known = true;
        live.shown = Some(hash);
        live.last_edit_at = Some(sent_at);
    }
    match item.work {
        Work::Send(mut send) => {
            send.parts.pop_front();
            if let Some(sent) = sent {
                send.sent.push(sent);
            }
            if !send.parts.is_empty() && request.digest.is_none() {
                let item = Item { work: Work::Send(send), failures: 0, not_before: None, ..item };
                state.requeue(chat_id, item);
                return;
            }
            let result = send.sent.clone();
            if let Some(done) = send.done.take() {
                let _ = done.send(Ok(result.clone()));
            }
            for other in merged {
                if let Work::Send(mut other) = other.work
                    && let Some(done) = other.done.take()
                {
                    let _ = done.send(Ok(result.clone()));
                }
            }
        }
        Work::Edit { done, .. } => {
            let _ = done.send(Ok(()));
        }
        Work::Delete { done, .. } => {
            let _ = done.send(true);
        }
    }
}

/// What a refusal means to the caller.
fn refusal(chat_id: i64, description: &str) -> DeliveryError {
    let lower = description.to_lowercase();
    if chat_id > 0
        && (lower.contains("blocked") || lower.contains("initiate conversation") || lower.contains("deactivated"))
    {
        return DeliveryError::PersonUnreachable;
    }
    if lower.contains("kicked") || lower.contains("not a member") || lower.contains("chat not found") {
        return if chat_id < 0 { DeliveryError::ChatGone } else { DeliveryError::PersonUnreachable };
    }
    DeliveryError::Refused(description.to_owned())
}

/// The bot is no longer in a group: nothing more is sent there.
async fn left_group(shared: &Shared, chat_id: i64) {
    tracing::warn!(chat_id, "the bot is no longer in this group; marking it inactive");
    if let Err(error) = db::chats::deactivate_chat(&shared.db, chat_id, shared.now()).await {
        tracing::error!(%error, "could not mark the chat inactive");
    }
}
