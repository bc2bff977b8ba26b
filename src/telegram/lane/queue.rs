//! The lane's queues and its plan: which request goes next and when, charging the budgets.
//! Planning is synchronous and pure (state in, dispatches and the next wake-up out), under
//! one short lock; [`super::perform`] carries the dispatches out.
//!
//! One request at a time per chat keeps a chat's messages in order; chats never wait for each
//! other. A live message keeps at most one pending render, and one equal to what the message
//! shows is dropped.

use std::collections::{HashMap, VecDeque};

use chrono::{DateTime, Utc};
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use tokio::sync::oneshot;

use super::budget::{Budget, Limits};
use crate::domain::outbound::{DeliveryError, MergeItem, MergeKind, Outgoing, Priority, Sent};
use crate::html::{MESSAGE_LIMIT, split};
use crate::telegram::callback::keyboard_json;

/// Most items one digest carries (its buttons and lines must fit one message).
const DIGEST_LIMIT: usize = 20;

#[derive(Default)]
pub(super) struct State {
    pub(super) seq: u64,
    pub(super) stopped: bool,
    pub(super) chats: HashMap<i64, ChatLane>,
    pub(super) overall: Budget,
}

#[derive(Default)]
pub(super) struct ChatLane {
    pub(super) queue: Vec<Item>,
    pub(super) budget: Budget,
    pub(super) group_budget: Budget,
    /// A 429 for this chat: nothing goes before then.
    pub(super) blocked_until: Option<DateTime<Utc>>,
    /// A request for this chat is in flight.
    pub(super) busy: bool,
    pub(super) live: HashMap<i32, Live>,
}

/// A live message's state: what it shows and what it should show.
#[derive(Default)]
pub(super) struct Live {
    /// The stored hash was read (or the message is new).
    pub(super) hash_known: bool,
    /// The hash of what Telegram shows.
    pub(super) shown: Option<String>,
    pub(super) pending: Option<LiveRender>,
    /// Order among pending renders of a chat.
    pub(super) pending_seq: u64,
    pub(super) urgent: bool,
    pub(super) last_edit_at: Option<DateTime<Utc>>,
    pub(super) busy: bool,
    pub(super) not_before: Option<DateTime<Utc>>,
    pub(super) failures: u32,
}

/// A live message as it should look.
pub(super) struct LiveRender {
    pub(super) html: String,
    pub(super) keyboard: Option<Value>,
    pub(super) hash: String,
}

impl LiveRender {
    pub(super) fn new(html: &str, keyboard: Option<Value>) -> LiveRender {
        let hash = content_hash(html, keyboard.as_ref());
        LiveRender { html: html.to_owned(), keyboard, hash }
    }
}

/// What a message shows, as a hash: its text and its keyboard.
pub(super) fn content_hash(html: &str, keyboard: Option<&Value>) -> String {
    let mut hasher = Sha256::new();
    hasher.update(html.as_bytes());
    hasher.update([0]);
    if let Some(keyboard) = keyboard {
        hasher.update(keyboard.to_string().as_bytes());
    }
    hasher.finalize().iter().map(|byte| format!("{byte:02x}")).collect()
}

pub(super) struct Item {
    pub(super) seq: u64,
    pub(super) not_before: Option<DateTime<Utc>>,
    pub(super) failures: u32,
    pub(super) migrated: bool,
    pub(super) work: Work,
}

impl Item {
    pub(super) fn new(seq: u64, work: Work) -> Item {
        Item { seq, not_before: None, failures: 0, migrated: false, work }
    }

    pub(super) fn priority(&self) -> Priority {
        match &self.work {
            Work::Send(send) => send.priority,
            Work::Edit { .. } | Work::Delete { .. } => Priority::Reply,
        }
    }

    /// Can merge with others of `kind`: nothing of it has gone yet.
    pub(super) fn merges_as(&self, kind: MergeKind) -> bool {
        matches!(&self.work, Work::Send(send) if send.sent.is_empty() && send.parts.len() == 1
            && send.merge.as_ref().is_some_and(|(own, _)| *own == kind))
    }

    pub(super) fn fail(self, error: DeliveryError) {
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
    pub(super) parts: VecDeque<String>,
    pub(super) sent: Vec<Sent>,
    pub(super) reply_to: Option<i32>,
    pub(super) keyboard: Option<Value>,
    pub(super) force_reply: bool,
    pub(super) priority: Priority,
    pub(super) merge: Option<(MergeKind, MergeItem)>,
    pub(super) live: bool,
    pub(super) done: Option<oneshot::Sender<Result<Vec<Sent>, DeliveryError>>>,
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
pub(super) enum Choice {
    Queue(usize),
    Live(i32),
}

/// One request on its way.
pub(super) enum Dispatch {
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

    pub(super) fn waiting(&self, chat_id: i64) -> usize {
        self.chats.get(&chat_id).map_or(0, |chat| chat.queue.len())
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
    pub(super) fn plan(
        &mut self,
        now: DateTime<Utc>,
        limits: &Limits,
        can_merge: bool,
    ) -> (Vec<Dispatch>, Option<DateTime<Utc>>) {
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
    pub(super) fn stop(&mut self) {
        self.stopped = true;
        for chat in self.chats.values_mut() {
            for item in chat.queue.drain(..) {
                item.fail(stopping());
            }
        }
    }

    /// Puts an item back (a retry); fails it instead once the lane stopped.
    pub(super) fn requeue(&mut self, chat_id: i64, item: Item) {
        if self.stopped {
            item.fail(stopping());
        } else {
            self.chat(chat_id).queue.push(item);
        }
    }

    pub(super) fn release(&mut self, chat_id: i64) {
        if let Some(chat) = self.chats.get_mut(&chat_id) {
            chat.busy = false;
        }
    }

    /// The bot can no longer post there: everything waiting for it fails.
    pub(super) fn drop_chat(&mut self, chat_id: i64) {
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

/// What waiting for a stopping lane comes to.
pub(super) fn stopping() -> DeliveryError {
    DeliveryError::Unavailable("the bot is stopping".to_owned())
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
