//! The lane's queues and its dispatcher: which request goes next, when, and what its answer
//! means. Planning is synchronous under one short lock; requests run as tasks, one at a time
//! per chat, so a chat's messages keep their order and chats never wait for each other.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use super::Shared;
use super::api::{ApiError, no_preview, sent_message};
use super::budget::{Budget, Limits};
use crate::db;
use crate::domain::outbound::{DeliveryError, MergeItem, MergeKind, Outgoing, Priority, Sent};
use crate::html::{MESSAGE_LIMIT, split};
use crate::telegram::callback::keyboard_json;

/// Most items one digest carries (its buttons and lines must fit one message).
const DIGEST_LIMIT: usize = 20;

#[derive(Default)]
pub(super) struct State {
    seq: u64,
    pub(super) stopped: bool,
    chats: HashMap<i64, ChatLane>,
    overall: Budget,
}

#[derive(Default)]
pub(super) struct ChatLane {
    pub(super) queue: Vec<Item>,
    budget: Budget,
    group_budget: Budget,
    /// A 429 for this chat: nothing goes before then.
    blocked_until: Option<DateTime<Utc>>,
    /// A request for this chat is in flight.
    busy: bool,
    live: HashMap<i32, Live>,
}

/// A live message's state: what it shows and what it should show.
#[derive(Default)]
struct Live {
    /// The stored hash was read (or the message is new).
    hash_known: bool,
    /// The hash of what Telegram shows.
    shown: Option<String>,
    pending: Option<LiveRender>,
    /// Order among pending renders of a chat.
    pending_seq: u64,
    urgent: bool,
    last_edit_at: Option<DateTime<Utc>>,
    busy: bool,
    not_before: Option<DateTime<Utc>>,
    failures: u32,
}

/// A live message as it should look.
pub(super) struct LiveRender {
    html: String,
    keyboard: Option<Value>,
    hash: String,
}

impl LiveRender {
    pub(super) fn new(html: &str, keyboard: Option<Value>) -> LiveRender {
        let hash = content_hash(html, keyboard.as_ref());
        LiveRender { html: html.to_owned(), keyboard, hash }
    }
}

/// What a message shows, as a hash: its text and its keyboard.
fn content_hash(html: &str, keyboard: Option<&Value>) -> String {
    let mut hasher = Sha256::new();
    hasher.update(html.as_bytes());
    hasher.update([0]);
    if let Some(keyboard) = keyboard {
        hasher.update(keyboard.to_string().as_bytes());
    }
    hasher.finalize().iter().map(|byte| format!("{byte:02x}")).collect()
}

pub(super) struct Item {
    seq: u64,
    not_before: Option<DateTime<Utc>>,
    failures: u32,
    migrated: bool,
    work: Work,
}

impl Item {
    pub(super) fn new(seq: u64, work: Work) -> Item {
        Item { seq, not_before: None, failures: 0, migrated: false, work }
    }

    fn priority(&self) -> Priority {
        match &self.work {
            Work::Send(send) => send.priority,
            Work::Edit { .. } | Work::Delete { .. } => Priority::Reply,
        }
    }

    /// Can merge with others of `kind`: nothing of it has gone yet.
    fn merges_as(&self, kind: MergeKind) -> bool {
        matches!(&self.work, Work::Send(send) if send.sent.is_empty() && send.parts.len() == 1
            && send.merge.as_ref().is_some_and(|(own, _)| *own == kind))
    }

    fn fail(self, error: DeliveryError) {
        match self.work {
            Work::Send(mut send) => {
                if let Some(done) = send.done.take() {
                    let _ = done.send(Err(error));
                }
            }
            Work::Edit { done, .. } => {
                let _ = done.send(Err(error));
            }
            Work::Delete { done, .. } => {
                let _ = done.send(false);
            }
        }
    }
}

pub(super) enum Work {
    Send(SendWork),
    Edit { message_id: i32, html: String, keyboard: Option<Value>, done: oneshot::Sender<Result<(), DeliveryError>> },
    Delete { message_id: i32, done: oneshot::Sender<bool> },
}

pub(super) struct SendWork {
    parts: VecDeque<String>,
    sent: Vec<Sent>,
    reply_to: Option<i32>,
    keyboard: Option<Value>,
    force_reply: bool,
    priority: Priority,
    merge: Option<(MergeKind, MergeItem)>,
    live: bool,
    done: Option<oneshot::Sender<Result<Vec<Sent>, DeliveryError>>>,
}

impl Work {
    pub(super) fn send(options: Outgoing, done: oneshot::Sender<Result<Vec<Sent>, DeliveryError>>) -> Work {
        Work::Send(SendWork {
            parts: split(&options.html, MESSAGE_LIMIT).into(),
            sent: Vec::new(),
            reply_to: options.reply_to,
            keyboard: options.keyboard.as_ref().map(keyboard_json),
            force_reply: options.force_reply,
            priority: options.priority,
            merge: options.merge,
            live: options.live,
            done: Some(done),
        })
    }

    pub(super) fn edit(
        message_id: i32,
        html: &str,
        keyboard: Option<Value>,
        done: oneshot::Sender<Result<(), DeliveryError>>,
    ) -> Work {
        Work::Edit { message_id, html: html.to_owned(), keyboard, done }
    }

    pub(super) fn delete(message_id: i32, done: oneshot::Sender<bool>) -> Work {
        Work::Delete { message_id, done }
    }
}

/// Which piece of a chat's work goes next.
enum Choice {
    Queue(usize),
    Live(i32),
}

/// One request on its way.
enum Dispatch {
    Queue { chat_id: i64, item: Item, merged: Vec<Item> },
    Live { chat_id: i64, message_id: i32, render: LiveRender, urgent: bool },
}

fn earliest(wake: &mut Option<DateTime<Utc>>, at: DateTime<Utc>) {
    *wake = Some(wake.map_or(at, |current| current.min(at)));
}

impl State {
    pub(super) fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    pub(super) fn chat(&mut self, chat_id: i64) -> &mut ChatLane {
        self.chats.entry(chat_id).or_default()
    }

    pub(super) fn hash_known(&self, chat_id: i64, message_id: i32) -> bool {
        self.chats.get(&chat_id).and_then(|chat| chat.live.get(&message_id)).is_some_and(|live| live.hash_known)
    }

    pub(super) fn remember_hash(&mut self, chat_id: i64, message_id: i32, hash: Option<String>) {
        let live = self.chat(chat_id).live.entry(message_id).or_default();
        if !live.hash_known {
            live.hash_known = true;
            live.shown = hash;
        }
    }

    /// Puts a render in place of any waiting one; returns whether there is now something to
    /// send. A render equal to what the message shows cancels a waiting change.
    pub(super) fn submit_render(&mut self, chat_id: i64, message_id: i32, render: LiveRender, urgent: bool) -> bool {
        let seq = self.next_seq();
        let live = self.chat(chat_id).live.entry(message_id).or_default();
        live.hash_known = true;
        if live.shown.as_deref() == Some(render.hash.as_str()) {
            live.pending = None;
            live.urgent = false;
            return false;
        }
        if live.pending.as_ref().is_none_or(|pending| pending.hash != render.hash) {
            live.pending_seq = seq;
        }
        live.pending = Some(render);
        live.urgent |= urgent;
        true
    }

    /// Decides what goes now, charging the budgets; returns it with the next moment worth
    /// waking up for.
    fn plan(&mut self, now: DateTime<Utc>, limits: &Limits, can_merge: bool) -> (Vec<Dispatch>, Option<DateTime<Utc>>) {
        let mut wake = None;
        let mut candidates = Vec::new();
        for (&chat_id, chat) in &mut self.chats {
            if chat.busy {
                continue;
            }
            if let Some(until) = chat.blocked_until {
                if until > now {
                    earliest(&mut wake, until);
                    continue;
                }
                chat.blocked_until = None;
            }
            let Some((priority, seq, choice)) = chat.best(now, limits, &mut wake) else { continue };
            let mut ready = chat.budget.ready_at(&limits.per_chat, now);
            if chat_id < 0 {
                ready = ready.max(chat.group_budget.ready_at(&limits.per_group, now));
            }
            if ready > now {
                earliest(&mut wake, ready);
                continue;
            }
            candidates.push((priority, seq, chat_id, choice));
        }
        candidates.sort_by_key(|(priority, seq, _, _)| (*priority, *seq));
        let mut dispatches = Vec::with_capacity(candidates.len());
        for (_, _, chat_id, choice) in candidates {
            let ready = self.overall.ready_at(&limits.overall, now);
            if ready > now {
                earliest(&mut wake, ready);
                break;
            }
            self.overall.charge(&limits.overall, now);
            let Some(chat) = self.chats.get_mut(&chat_id) else { continue };
            chat.budget.charge(&limits.per_chat, now);
            if chat_id < 0 {
                chat.group_budget.charge(&limits.per_group, now);
            }
            chat.busy = true;
            dispatches.push(chat.take(chat_id, choice, now, can_merge));
        }
        (dispatches, wake)
    }

    /// Everything still queued fails; nothing new is taken.
    fn stop(&mut self) {
        self.stopped = true;
        for chat in self.chats.values_mut() {
            for item in chat.queue.drain(..) {
                item.fail(DeliveryError::Unavailable("the bot is stopping".to_owned()));
            }
        }
    }

    /// Puts an item back (a retry); fails it instead once the lane stopped.
    fn requeue(&mut self, chat_id: i64, item: Item) {
        if self.stopped {
            item.fail(DeliveryError::Unavailable("the bot is stopping".to_owned()));
        } else {
            self.chat(chat_id).queue.push(item);
        }
    }

    fn release(&mut self, chat_id: i64) {
        if let Some(chat) = self.chats.get_mut(&chat_id) {
            chat.busy = false;
        }
    }

    /// The bot can no longer post there: everything waiting for it fails.
    fn drop_chat(&mut self, chat_id: i64) {
        if let Some(chat) = self.chats.get_mut(&chat_id) {
            for item in chat.queue.drain(..) {
                item.fail(DeliveryError::ChatGone);
            }
            chat.live.clear();
        }
    }
}

impl ChatLane {
    /// The most urgent work that may go now, noting in `wake` when waiting work could go.
    fn best(
        &self,
        now: DateTime<Utc>,
        limits: &Limits,
        wake: &mut Option<DateTime<Utc>>,
    ) -> Option<(Priority, u64, Choice)> {
        let mut best: Option<(Priority, u64, Choice)> = None;
        let mut consider = |priority: Priority, seq: u64, choice: Choice| {
            if best.as_ref().is_none_or(|(p, s, _)| (priority, seq) < (*p, *s)) {
                best = Some((priority, seq, choice));
            }
        };
        for (index, item) in self.queue.iter().enumerate() {
            if let Some(not_before) = item.not_before
                && not_before > now
            {
                earliest(wake, not_before);
                continue;
            }
            consider(item.priority(), item.seq, Choice::Queue(index));
        }
        let spacing = chrono::Duration::from_std(limits.edit_spacing).unwrap_or_default();
        for (&message_id, live) in &self.live {
            if live.busy || live.pending.is_none() {
                continue;
            }
            let mut at = live.not_before.unwrap_or(now).max(now);
            if !live.urgent
                && let Some(last) = live.last_edit_at
            {
                at = at.max(last + spacing);
            }
            if at > now {
                earliest(wake, at);
                continue;
            }
            let priority = if live.urgent { Priority::Reply } else { Priority::Edit };
            consider(priority, live.pending_seq, Choice::Live(message_id));
        }
        best
    }

    fn take(&mut self, chat_id: i64, choice: Choice, now: DateTime<Utc>, can_merge: bool) -> Dispatch {
        match choice {
            Choice::Live(message_id) => {
                let live = self.live.entry(message_id).or_default();
                live.busy = true;
                let urgent = std::mem::take(&mut live.urgent);
                match live.pending.take() {
                    Some(render) => Dispatch::Live { chat_id, message_id, render, urgent },
                    // Not reachable: only pending renders are chosen. Send nothing.
                    None => Dispatch::Live { chat_id, message_id, render: LiveRender::new("", None), urgent },
                }
            }
            Choice::Queue(index) => {
                let item = self.queue.remove(index);
                let mut merged = Vec::new();
                let kind = match &item.work {
                    Work::Send(send) if send.sent.is_empty() && send.parts.len() == 1 => {
                        send.merge.as_ref().map(|(kind, _)| *kind)
                    }
                    _ => None,
                };
                if let Some(kind) = kind.filter(|_| can_merge) {
                    let mut index = 0;
                    while index < self.queue.len() && merged.len() + 1 < DIGEST_LIMIT {
                        let candidate = &self.queue[index];
                        if candidate.merges_as(kind) && candidate.not_before.is_none_or(|at| at <= now) {
                            merged.push(self.queue.remove(index));
                        } else {
                            index += 1;
                        }
                    }
                    merged.sort_by_key(|item| item.seq);
                }
                Dispatch::Queue { chat_id, item, merged }
            }
        }
    }
}

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
            live.last_edit_at = Some(now);
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
    let result = shared.api.call(request.method, &request.body).await;
    let now = shared.now();
    match result {
        Ok(value) => succeed(shared, chat_id, item, merged, request, &value, now).await,
        Err(error) if error.is_not_modified() => {
            succeed(shared, chat_id, item, merged, request, &Value::Null, now).await
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
    now: DateTime<Utc>,
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
        live.last_edit_at = Some(now);
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

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).single().expect("valid")
    }

    fn queue_send(
        state: &mut State,
        chat_id: i64,
        priority: Priority,
        merge: Option<MergeKind>,
    ) -> oneshot::Receiver<Result<Vec<Sent>, DeliveryError>> {
        let (done, result) = oneshot::channel();
        let mut message = Outgoing::new("x");
        message.priority = priority;
        message.merge = merge.map(|kind| (kind, MergeItem { subject: 1, detail: None }));
        let seq = state.next_seq();
        state.chat(chat_id).queue.push(Item::new(seq, Work::send(message, done)));
        result
    }

    fn priorities(dispatches: &[Dispatch]) -> Vec<(i64, Priority)> {
        dispatches
            .iter()
            .map(|dispatch| match dispatch {
                Dispatch::Queue { chat_id, item, .. } => (*chat_id, item.priority()),
                Dispatch::Live { chat_id, .. } => (*chat_id, Priority::Edit),
            })
            .collect()
    }

    #[test]
    fn one_request_per_chat_at_a_time_and_chats_do_not_wait_for_each_other() {
        let mut state = State::default();
        let limits = Limits::default();
        let _a = queue_send(&mut state, -1, Priority::Reply, None);
        let _b = queue_send(&mut state, -1, Priority::Reply, None);
        let _c = queue_send(&mut state, -2, Priority::Reply, None);
        let (dispatches, _) = state.plan(now(), &limits, false);
        let mut chats: Vec<i64> = priorities(&dispatches).into_iter().map(|(chat, _)| chat).collect();
        chats.sort();
        assert_eq!(chats, vec![-2, -1]);
        let (again, _) = state.plan(now(), &limits, false);
        assert!(again.is_empty(), "both chats are busy");
    }

    #[test]
    fn a_short_budget_sends_escalations_before_replies() {
        let mut state = State::default();
        let limits = Limits {
            per_chat: super::super::Rate { count: 1.0, per: std::time::Duration::from_secs(1), burst: 1 },
            ..Limits::default()
        };
        let _reply = queue_send(&mut state, -1, Priority::Reply, None);
        let (first, _) = state.plan(now(), &limits, false);
        assert_eq!(priorities(&first), vec![(-1, Priority::Reply)]);
        state.release(-1);
        let _later_reply = queue_send(&mut state, -1, Priority::Reply, None);
        let _relay = queue_send(&mut state, -1, Priority::Escalation, None);
        let (none, wake) = state.plan(now(), &limits, false);
        assert!(none.is_empty());
        assert_eq!(wake, Some(now() + chrono::Duration::seconds(1)));
        let (next, _) = state.plan(now() + chrono::Duration::seconds(1), &limits, false);
        assert_eq!(priorities(&next), vec![(-1, Priority::Escalation)]);
    }

    #[test]
    fn queued_messages_of_one_kind_merge_and_others_do_not() {
        let mut state = State::default();
        let limits = Limits::default();
        for _ in 0..3 {
            let _waiting = queue_send(&mut state, -1, Priority::Escalation, Some(MergeKind::Relay));
        }
        let _waiting = queue_send(&mut state, -1, Priority::Escalation, Some(MergeKind::Mention));
        let (dispatches, _) = state.plan(now(), &limits, true);
        match &dispatches[..] {
            [Dispatch::Queue { merged, .. }] => assert_eq!(merged.len(), 2),
            _ => panic!("one dispatch expected"),
        }
        assert_eq!(state.chats[&-1].queue.len(), 1, "the mention waits for its own turn");
    }

    #[test]
    fn a_render_equal_to_what_shows_is_dropped_and_a_newer_one_replaces_a_waiting_one() {
        let mut state = State::default();
        state.remember_hash(-1, 7, Some(content_hash("a", None)));
        assert!(!state.submit_render(-1, 7, LiveRender::new("a", None), false));
        assert!(state.submit_render(-1, 7, LiveRender::new("b", None), false));
        assert!(state.submit_render(-1, 7, LiveRender::new("c", None), false));
        let live = &state.chats[&-1].live[&7];
        assert_eq!(live.pending.as_ref().map(|render| render.html.as_str()), Some("c"));
        assert!(!state.submit_render(-1, 7, LiveRender::new("a", None), false), "back to what shows: nothing to send");
        assert!(state.chats[&-1].live[&7].pending.is_none());
    }

    #[test]
    fn edits_of_one_message_are_spaced_unless_urgent() {
        let mut state = State::default();
        let limits = Limits::default();
        state.remember_hash(-1, 7, None);
        state.chat(-1).live.entry(7).or_default().last_edit_at = Some(now());
        state.submit_render(-1, 7, LiveRender::new("b", None), false);
        let (none, wake) = state.plan(now() + chrono::Duration::seconds(1), &limits, false);
        assert!(none.is_empty());
        assert_eq!(wake, Some(now() + chrono::Duration::seconds(3)));
        state.submit_render(-1, 7, LiveRender::new("c", None), true);
        let (urgent, _) = state.plan(now() + chrono::Duration::seconds(1), &limits, false);
        assert_eq!(urgent.len(), 1, "the first edit after an acknowledgement goes at once");
    }
}
