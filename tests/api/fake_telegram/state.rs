//! What the fake remembers between requests: updates waiting for the bot, the chats, users,
//! members and messages it has seen, the requests it served, the failures a test planned,
//! and the Telegram-shaped error answer.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use floorbot::clock::Clock;
use serde_json::{Map, Value, json};
use tokio::sync::Notify;
use tokio::time::Instant;

use super::edits::Source;
use super::limits::Limiter;
use super::spec::Spec;
use super::{BOT_ID, Failure, RateLimits, Recorded, bot_user_json, chat_member_json};

/// Update kinds Telegram withholds unless the bot lists them in `allowed_updates`.
const OPT_IN_UPDATE_KINDS: &[&str] = &["chat_member", "message_reaction", "message_reaction_count"];

pub(super) struct Shared {
    pub(super) spec: Spec,
    pub(super) state: Mutex<FakeState>,
    /// Signalled on every state change that a waiter (long poll, `wait_for`, ...) may care about.
    pub(super) changed: Notify,
    /// The time line flood limits are measured on.
    pub(super) clock: Arc<dyn Clock>,
}

impl Shared {
    /// A panic elsewhere must not take the server down with it, so poisoning is ignored.
    pub(super) fn lock(&self) -> MutexGuard<'_, FakeState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Re-evaluates `check` on every state change until it yields a value or `deadline` passes.
    pub(super) async fn wait_until<T>(
        &self,
        deadline: Instant,
        mut check: impl FnMut(&mut FakeState) -> Option<T>,
    ) -> Option<T> {
        loop {
            // Register interest before looking, so a change in between is not missed.
            let mut notified = std::pin::pin!(self.changed.notified());
            notified.as_mut().enable();
            let found = {
                let mut state = self.lock();
                check(&mut state)
            };
            if found.is_some() {
                return found;
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::select! {
                () = &mut notified => {}
                () = tokio::time::sleep_until(deadline) => {}
            }
        }
    }
}

pub(super) struct FakeState {
    pub(super) next_update_id: i64,
    /// Updates not yet confirmed by the bot, with their `update_id` set.
    pub(super) pending: VecDeque<Value>,
    /// The bot's last `allowed_updates`; Telegram keeps it between getUpdates calls.
    pub(super) allowed_updates: Option<Vec<String>>,
    next_message_ids: HashMap<i64, i64>,
    next_file_id: u64,
    pub(super) chats: HashMap<i64, Value>,
    users: HashMap<i64, Value>,
    pub(super) members: HashMap<i64, Vec<Value>>,
    pub(super) messages: HashMap<(i64, i64), Value>,
    /// What the bot sent for its messages, before rendering: edits are compared to this.
    pub(super) sources: HashMap<(i64, i64), Source>,
    pub(super) limits: Option<RateLimits>,
    pub(super) limiter: Limiter,
    pub(super) canned_results: HashMap<String, Value>,
    pub(super) requests: Vec<Recorded>,
    pub(super) failed: Vec<Recorded>,
    pub(super) failure: Option<Failure>,
    pub(super) fail_next: HashMap<String, VecDeque<ApiError>>,
    pub(super) undeletable_chats: HashSet<i64>,
    pub(super) violations: Vec<String>,
    pub(super) get_updates_calls: usize,
    pub(super) stopped: bool,
}

impl Default for FakeState {
    fn default() -> Self {
        FakeState {
            next_update_id: 1,
            pending: VecDeque::new(),
            allowed_updates: None,
            next_message_ids: HashMap::new(),
            next_file_id: 1,
            chats: HashMap::new(),
            users: HashMap::new(),
            members: HashMap::new(),
            messages: HashMap::new(),
            sources: HashMap::new(),
            limits: Some(RateLimits::default()),
            limiter: Limiter::default(),
            canned_results: HashMap::new(),
            requests: Vec::new(),
            failed: Vec::new(),
            failure: None,
            fail_next: HashMap::new(),
            undeletable_chats: HashSet::new(),
            violations: Vec::new(),
            get_updates_calls: 0,
            stopped: false,
        }
    }
}

/// A Telegram error answer.
#[derive(Clone, Debug)]
pub(super) struct ApiError {
    pub(super) code: u16,
    pub(super) description: String,
    pub(super) parameters: Option<Value>,
}

impl ApiError {
    pub(super) fn bad_request(reason: &str) -> ApiError {
        ApiError { code: 400, description: format!("Bad Request: {reason}"), parameters: None }
    }

    pub(super) fn body(&self) -> Value {
        let mut body = json!({ "ok": false, "error_code": self.code, "description": self.description });
        if let Some(parameters) = &self.parameters {
            body["parameters"] = parameters.clone();
        }
        body
    }

    pub(super) fn response(&self) -> Response {
        let status = StatusCode::from_u16(self.code).unwrap_or(StatusCode::BAD_REQUEST);
        (status, axum::Json(self.body())).into_response()
    }
}

impl ApiError {
    pub(super) fn too_many_requests(retry_after: u64) -> ApiError {
        ApiError {
            code: 429,
            description: format!("Too Many Requests: retry after {retry_after}"),
            parameters: Some(json!({ "retry_after": retry_after })),
        }
    }
}

impl Failure {
    fn error(&self) -> ApiError {
        match self {
            Failure::ServerError => ApiError { code: 502, description: "Bad Gateway".to_owned(), parameters: None },
            Failure::TooManyRequests { retry_after } => ApiError {
                code: 429,
                description: format!("Too Many Requests: retry after {retry_after}"),
                parameters: Some(json!({ "retry_after": retry_after })),
            },
        }
    }
}

pub(super) fn ok_response(result: Value) -> Response {
    axum::Json(json!({ "ok": true, "result": result })).into_response()
}

impl FakeState {
    pub(super) fn planned_failure(&mut self, method: &str) -> Option<ApiError> {
        if let Some(failure) = &self.failure {
            return Some(failure.error());
        }
        self.fail_next.get_mut(method).and_then(VecDeque::pop_front)
    }

    /// Drops updates the bot has confirmed, with Telegram's `offset` semantics.
    pub(super) fn confirm_updates(&mut self, offset: i64) {
        if offset < 0 {
            let keep = usize::try_from(offset.unsigned_abs()).unwrap_or(usize::MAX);
            let forget = self.pending.len().saturating_sub(keep);
            self.pending.drain(..forget);
        } else {
            self.pending.retain(|update| update_id(update) >= offset);
        }
    }

    /// The updates a getUpdates answers with. Updates the bot's `allowed_updates`
    /// exclude are dropped, as Telegram does, and reported: the bot would never see them.
    pub(super) fn deliverable_updates(&mut self, limit: usize) -> Vec<Value> {
        let allowed = &self.allowed_updates;
        let violations = &mut self.violations;
        self.pending.retain(|update| {
            let kind = update_kind(update);
            let delivered = match allowed {
                Some(kinds) if !kinds.is_empty() => kinds.iter().any(|k| k == kind),
                _ => !OPT_IN_UPDATE_KINDS.contains(&kind),
            };
            if !delivered {
                violations.push(format!(
                    "getUpdates: update {} ({kind}) was dropped: the bot's allowed_updates {allowed:?} exclude it",
                    update_id(update)
                ));
            }
            delivered
        });
        self.pending.iter().take(limit).cloned().collect()
    }

    /// Learns chats, users, messages and memberships from an update pushed by a test.
    pub(super) fn absorb_update(&mut self, update: &Value) {
        for key in ["message", "edited_message", "channel_post", "edited_channel_post", "business_message"] {
            if let Some(message) = update.get(key) {
                self.absorb_message(message);
            }
        }
        if let Some(query) = update.get("callback_query") {
            self.absorb_user(query.get("from"));
            if let Some(chat) = query.get("message").and_then(|m| m.get("chat")) {
                self.absorb_chat(chat);
            }
        }
        for key in ["my_chat_member", "chat_member"] {
            if let Some(change) = update.get(key) {
                self.absorb_user(change.get("from"));
                if let Some(chat) = change.get("chat") {
                    self.absorb_chat(chat);
                    if let (Some(chat_id), Some(member)) = (chat_id_of(chat), change.get("new_chat_member")) {
                        self.set_member(chat_id, member.clone());
                    }
                }
            }
        }
    }

    fn absorb_message(&mut self, message: &Value) {
        self.absorb_user(message.get("from"));
        let Some(chat) = message.get("chat") else { return };
        self.absorb_chat(chat);
        if let (Some(chat_id), Some(message_id)) = (chat_id_of(chat), message.get("message_id").and_then(Value::as_i64))
        {
            let next = self.next_message_ids.entry(chat_id).or_insert(1);
            *next = (*next).max(message_id + 1);
            self.messages.insert((chat_id, message_id), message.clone());
        }
    }

    fn absorb_chat(&mut self, chat: &Value) {
        if let Some(id) = chat_id_of(chat) {
            self.chats.insert(id, chat.clone());
        }
    }

    fn absorb_user(&mut self, user: Option<&Value>) {
        if let Some(user) = user
            && let Some(id) = user.get("id").and_then(Value::as_i64)
        {
            self.users.insert(id, user.clone());
        }
    }

    pub(super) fn set_member(&mut self, chat_id: i64, member: Value) {
        let user_id = member.get("user").and_then(|u| u.get("id")).and_then(Value::as_i64);
        let members = self.members.entry(chat_id).or_default();
        members.retain(|m| m.get("user").and_then(|u| u.get("id")).and_then(Value::as_i64) != user_id);
        members.push(member);
    }

    pub(super) fn allocate_message_id(&mut self, chat_id: i64) -> i64 {
        let next = self.next_message_ids.entry(chat_id).or_insert(1);
        let id = *next;
        *next += 1;
        id
    }

    pub(super) fn allocate_file_id(&mut self, kind: &str) -> String {
        let id = self.next_file_id;
        self.next_file_id += 1;
        format!("fake-{kind}-{id}")
    }

    /// Resolves a `chat_id` parameter (id, numeric string or @username) to the chat id
    /// and the Chat object to echo.
    pub(super) fn resolve_chat(&self, value: Option<&Value>) -> Result<(i64, Value), ApiError> {
        let id = match value {
            Some(Value::Number(n)) => n.as_i64(),
            Some(Value::String(s)) => match s.strip_prefix('@') {
                Some(username) => self
                    .chats
                    .iter()
                    .find(|(_, chat)| chat.get("username").and_then(Value::as_str) == Some(username))
                    .map(|(id, _)| *id),
                None => s.parse().ok(),
            },
            _ => None,
        };
        match id {
            Some(id) if id != 0 => Ok((id, self.chats.get(&id).cloned().unwrap_or_else(|| inferred_chat(id)))),
            _ => Err(ApiError::bad_request("chat not found")),
        }
    }

    fn user(&self, user_id: i64) -> Value {
        if user_id == BOT_ID {
            return bot_user_json();
        }
        self.users
            .get(&user_id)
            .cloned()
            .unwrap_or_else(|| json!({ "id": user_id, "is_bot": false, "first_name": "User" }))
    }

    pub(super) fn member(&self, chat_id: i64, user_id: i64) -> Value {
        self.members
            .get(&chat_id)
            .and_then(|members| {
                members
                    .iter()
                    .find(|m| m.get("user").and_then(|u| u.get("id")).and_then(Value::as_i64) == Some(user_id))
            })
            .cloned()
            .unwrap_or_else(|| chat_member_json(&self.user(user_id), "member"))
    }
}

fn update_id(update: &Value) -> i64 {
    update.get("update_id").and_then(Value::as_i64).unwrap_or(0)
}

/// The update's kind, i.e. its one field besides `update_id` (`message`, `callback_query`, ...).
fn update_kind(update: &Value) -> &str {
    update.as_object().and_then(|fields| fields.keys().find(|k| *k != "update_id")).map_or("", String::as_str)
}

pub(super) fn chat_id_of(chat: &Value) -> Option<i64> {
    chat.get("id").and_then(Value::as_i64)
}

/// A Chat for an id the fake has never seen: positive ids are users, negative ones groups.
fn inferred_chat(id: i64) -> Value {
    if id > 0 {
        json!({ "id": id, "type": "private", "first_name": "User" })
    } else {
        json!({ "id": id, "type": "supergroup", "title": "Group" })
    }
}

/// An integer parameter, whether it arrived as a JSON number or as text.
pub(super) fn param_i64(value: Option<&Value>) -> Option<i64> {
    match value? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

pub(super) fn param_string(params: &Map<String, Value>, name: &str) -> Option<String> {
    params.get(name).and_then(Value::as_str).map(str::to_owned)
}
