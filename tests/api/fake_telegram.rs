//! A fake Telegram Bot API server for end-to-end tests.
//!
//! The bot under test talks to it exactly as it talks to `api.telegram.org`
//! (`POST /bot<token>/<method>`, JSON or multipart bodies). Tests push updates
//! into it, inspect what the bot sent, inject failures, and finally assert
//! that the bot never sent anything the official Bot API specification
//! (`tests/specs/telegram_bot_api.json`) would reject or consider malformed.
//!
//! Answers are shaped like Telegram's own, so the bot's HTTP client and its
//! error handling run unmodified: whatever Telegram itself would refuse
//! (invalid HTML, over-long text, bad button data, ...) is answered with the
//! matching `400 Bad Request`, and also recorded as a violation.
//!
//! Two of Telegram's refusals depend on history rather than on the request alone, and both
//! are simulated because a bot that ignores them loses messages in production: the flood
//! limits (`429 Too Many Requests` with `retry_after`, see [`RateLimits`]) and the
//! `message is not modified` answer to an edit that changes nothing. Time for the limits is
//! read from a [`Clock`], so tests on a manual clock get the same answers on every run.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::to_bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use floorbot::clock::{Clock, SystemClock};
use serde_json::{Map, Number, Value, json};
use tokio::sync::{Notify, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// User id of the bot the fake impersonates.
const BOT_ID: i64 = 7_000_000_001;
/// Long polls never wait longer than this, so tests shut down quickly.
const LONG_POLL_CAP: Duration = Duration::from_secs(2);
/// Upper bound for request bodies (uploads included).
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;
/// Limits from the Bot API documentation, counted in UTF-16 code units.
const MAX_TEXT_LEN: usize = 4096;
const MAX_CAPTION_LEN: usize = 1024;
const MAX_CALLBACK_ANSWER_LEN: usize = 200;
const MAX_CALLBACK_DATA_BYTES: usize = 64;
const MAX_INLINE_BUTTONS: usize = 100;
const MAX_BOT_COMMANDS: usize = 100;
const MAX_COMMAND_DESCRIPTION_LEN: usize = 256;
/// Fields of an inline keyboard button that give it an action; exactly one must be set.
const BUTTON_ACTIONS: &[&str] = &[
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
];
/// Update kinds Telegram withholds unless the bot lists them in `allowed_updates`.
const OPT_IN_UPDATE_KINDS: &[&str] = &["chat_member", "message_reaction", "message_reaction_count"];
/// Methods that post or change a message, and so count against Telegram's flood limits.
const CHARGED_METHODS: &[&str] = &[
    "sendMessage",
    "sendDocument",
    "sendPhoto",
    "sendMediaGroup",
    "copyMessage",
    "forwardMessage",
    "editMessageText",
    "editMessageCaption",
    "editMessageReplyMarkup",
    "editMessageMedia",
];
/// Edits of a message's content or keyboard, as listed by [`FakeTelegram::edits_of`].
const EDIT_METHODS: &[&str] = &["editMessageText", "editMessageCaption", "editMessageReplyMarkup", "editMessageMedia"];
/// Telegram's wording when an edit would leave the message as it is.
const NOT_MODIFIED: &str = "message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message";

/// A running fake Bot API server. Dropping it aborts the server; [`FakeTelegram::stop`]
/// shuts it down gracefully.
#[allow(dead_code)]
pub struct FakeTelegram {
    shared: Arc<Shared>,
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
}

/// One request the bot made (getUpdates excluded).
#[allow(dead_code)]
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    /// The request parameters as a JSON object, whatever encoding the bot used. Uploaded
    /// files appear as `{"file_name", "mime_type", "size", "content"}` objects.
    pub body: Value,
    pub token: String,
    /// What the fake answered: the `result` on success (e.g. the sent Message, handy for
    /// [`callback_update`]), or the whole error object for failed requests.
    pub result: Value,
    /// When the request arrived (wall time, whatever the fake's clock), for latency measurements.
    pub at: std::time::Instant,
}

/// A failure applied to every request until cleared with `set_failure(None)`.
#[allow(dead_code)]
#[derive(Clone, Debug)]
pub enum Failure {
    /// Every request (getUpdates included) answers HTTP 502 with a Telegram error body.
    ServerError,
    /// Every request answers 429 with `parameters.retry_after` = secs.
    TooManyRequests { retry_after: u32 },
}

/// Telegram's flood limits, as its FAQ states them: about one message per second in a chat
/// (short bursts allowed), twenty per minute in a group, thirty per second overall. Sends and
/// edits count alike. Telegram answers a request over any of them with `429 Too Many Requests`
/// and a `retry_after`; the fake does the same and records a violation, because a bot that
/// paces itself never provokes one and a bot that doesn't loses messages at the worst moment
/// (an incident storm).
///
/// Each budget is a GCRA (generic cell rate algorithm) bucket: it refills at `rate` and holds
/// up to `burst` requests. `slack` is tolerated on every budget, so that a bot pacing itself
/// exactly at the limit is not punished for network jitter.
#[allow(dead_code)]
#[derive(Clone, Copy, Debug)]
pub struct RateLimits {
    /// Sustained rate in one chat (private or group).
    pub per_chat_per_second: f64,
    /// Requests one chat may take at once.
    pub per_chat_burst: u32,
    /// Sustained rate in one group (chats with a negative id), on top of the chat budget.
    pub group_per_minute: f64,
    /// Requests one group may take at once.
    pub group_burst: u32,
    /// Sustained rate over all chats.
    pub global_per_second: f64,
    /// Requests all chats together may take at once.
    pub global_burst: u32,
    /// Network jitter tolerated on every budget.
    pub slack: Duration,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            per_chat_per_second: 1.0,
            per_chat_burst: 5,
            group_per_minute: 20.0,
            group_burst: 20,
            global_per_second: 30.0,
            global_burst: 30,
            slack: Duration::from_millis(500),
        }
    }
}

#[allow(dead_code)]
impl FakeTelegram {
    /// Binds 127.0.0.1 on a random port, loads the Bot API spec and starts serving. Flood
    /// limits run on the wall clock.
    pub async fn start() -> FakeTelegram {
        FakeTelegram::start_with_clock(Arc::new(SystemClock)).await
    }

    /// Like [`Self::start`], with flood limits measured on `clock`: give it the bot's own
    /// clock, so that budgets refill exactly when the test moves time on, and never in between.
    pub async fn start_with_clock(clock: Arc<dyn Clock>) -> FakeTelegram {
        let spec_path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/specs/telegram_bot_api.json");
        let shared = Arc::new(Shared {
            spec: Spec::load(spec_path),
            state: Mutex::new(FakeState::default()),
            changed: Notify::new(),
            clock,
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the fake Telegram server");
        let addr = listener.local_addr().expect("local address of the fake Telegram server");
        let app = Router::new().fallback(handle).with_state(Arc::clone(&shared));
        let (shutdown, shutdown_signal) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let signal = async {
                let _ = shutdown_signal.await;
            };
            let _ = axum::serve(listener, app).with_graceful_shutdown(signal).await;
        });
        FakeTelegram { shared, addr, shutdown: Some(shutdown), server: Some(server) }
    }

    /// Base URL to hand to the bot (`Bot::set_api_url`).
    pub fn api_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bot's own User object.
    pub fn bot_user(&self) -> Value {
        bot_user_json()
    }

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

    /// Stops serving. A pending long poll returns at once.
    pub async fn stop(mut self) {
        self.shared.lock().stopped = true;
        self.shared.changed.notify_waiters();
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(mut server) = self.server.take() {
            // Graceful shutdown waits for open connections; a stuck client must not hang the test.
            if tokio::time::timeout(Duration::from_secs(3), &mut server).await.is_err() {
                server.abort();
            }
        }
    }
}

impl Drop for FakeTelegram {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            self.shared.lock().stopped = true;
            self.shared.changed.notify_waiters();
            server.abort();
        }
    }
}

// ---------------------------------------------------------------------------
// JSON builders for updates pushed by tests
// ---------------------------------------------------------------------------

/// A (human) User object.
#[allow(dead_code)]
pub fn user_json(id: i64, first_name: &str, username: Option<&str>, language_code: Option<&str>) -> Value {
    let mut user = json!({ "id": id, "is_bot": false, "first_name": first_name });
    if let Some(username) = username {
        user["username"] = json!(username);
    }
    if let Some(language_code) = language_code {
        user["language_code"] = json!(language_code);
    }
    user
}

/// A basic group chat (its id should be negative).
#[allow(dead_code)]
pub fn group_chat_json(id: i64, title: &str) -> Value {
    json!({ "id": id, "type": "group", "title": title })
}

/// A supergroup chat (its id should look like -100…).
#[allow(dead_code)]
pub fn supergroup_chat_json(id: i64, title: &str) -> Value {
    json!({ "id": id, "type": "supergroup", "title": title })
}

/// The private chat between the bot and `user`.
#[allow(dead_code)]
pub fn private_chat_json(user: &Value) -> Value {
    let mut chat = json!({ "id": user["id"], "type": "private", "first_name": user["first_name"] });
    for field in ["last_name", "username"] {
        if let Some(value) = user.get(field) {
            chat[field] = value.clone();
        }
    }
    chat
}

/// A text message update. A text starting with '/' gets a `bot_command` entity covering
/// the command word. `reply_to` may be a Message or an update wrapping one.
#[allow(dead_code)]
pub fn text_message_update(message_id: i64, chat: &Value, from: &Value, text: &str, reply_to: Option<&Value>) -> Value {
    let mut message = json!({
        "message_id": message_id,
        "date": unix_now(),
        "chat": chat,
        "from": from,
        "text": text,
    });
    if text.starts_with('/') {
        let command = text.split(char::is_whitespace).next().unwrap_or(text);
        message["entities"] = json!([{ "type": "bot_command", "offset": 0, "length": command.encode_utf16().count() }]);
    }
    if let Some(reply_to) = reply_to {
        let mut replied = unwrap_message(reply_to).clone();
        // Telegram never nests replies more than one level deep.
        if let Some(replied) = replied.as_object_mut() {
            replied.remove("reply_to_message");
        }
        message["reply_to_message"] = replied;
    }
    json!({ "message": message })
}

/// A callback query update for a button press on `message` (a Message, e.g.
/// [`Recorded::result`] of a sendMessage, or an update wrapping one).
#[allow(dead_code)]
pub fn callback_update(from: &Value, message: &Value, data: &str) -> Value {
    static NEXT_QUERY_ID: AtomicU64 = AtomicU64::new(1);
    let id = NEXT_QUERY_ID.fetch_add(1, Ordering::Relaxed);
    json!({
        "callback_query": {
            "id": format!("cbq-{id}"),
            "from": from,
            "chat_instance": "ci",
            "data": data,
            "message": unwrap_message(message),
        }
    })
}

/// A `ChatMember` object with the given status ("creator", "administrator", "member",
/// "restricted", "left" or "kicked"), carrying every field teloxide requires.
#[allow(dead_code)]
pub fn chat_member_json(user: &Value, status: &str) -> Value {
    let mut member = match status {
        "creator" => json!({ "is_anonymous": false }),
        "administrator" => json!({
            "can_be_edited": false,
            "is_anonymous": false,
            "can_manage_chat": true,
            "can_delete_messages": true,
            "can_manage_video_chats": true,
            "can_restrict_members": true,
            "can_promote_members": false,
            "can_change_info": true,
            "can_invite_users": true,
            "can_post_stories": false,
            "can_edit_stories": false,
            "can_delete_stories": false,
            "can_pin_messages": true,
            "can_manage_topics": false,
        }),
        "member" | "left" => json!({}),
        "restricted" => json!({
            "until_date": 0,
            "is_member": true,
            "can_send_messages": false,
            "can_send_audios": false,
            "can_send_documents": false,
            "can_send_photos": false,
            "can_send_videos": false,
            "can_send_video_notes": false,
            "can_send_voice_notes": false,
            "can_send_polls": false,
            "can_send_other_messages": false,
            "can_add_web_page_previews": false,
            "can_change_info": false,
            "can_invite_users": false,
            "can_pin_messages": false,
            "can_manage_topics": false,
        }),
        "kicked" => json!({ "until_date": 0 }),
        other => panic!("unknown chat member status {other:?}"),
    };
    member["status"] = json!(status);
    member["user"] = user.clone();
    member
}

/// A `my_chat_member` update: the bot's status in `chat` changed from `old_status` to
/// `new_status` (see [`chat_member_json`]), by `from`.
#[allow(dead_code)]
pub fn my_chat_member_update(chat: &Value, from: &Value, bot: &Value, old_status: &str, new_status: &str) -> Value {
    json!({
        "my_chat_member": {
            "chat": chat,
            "from": from,
            "date": unix_now(),
            "old_chat_member": chat_member_json(bot, old_status),
            "new_chat_member": chat_member_json(bot, new_status),
        }
    })
}

/// The service message in a group saying it migrated to the supergroup `new_chat_id`.
#[allow(dead_code)]
pub fn migrate_update(message_id: i64, chat: &Value, from: &Value, new_chat_id: i64) -> Value {
    json!({
        "message": {
            "message_id": message_id,
            "date": unix_now(),
            "chat": chat,
            "from": from,
            "migrate_to_chat_id": new_chat_id,
        }
    })
}

/// The matching service message in the new supergroup (Telegram sends both).
#[allow(dead_code)]
pub fn migrate_from_update(message_id: i64, supergroup: &Value, from: &Value, old_chat_id: i64) -> Value {
    json!({
        "message": {
            "message_id": message_id,
            "date": unix_now(),
            "chat": supergroup,
            "from": from,
            "migrate_from_chat_id": old_chat_id,
        }
    })
}

/// Accepts either a Message or an update wrapping one in `message`.
fn unwrap_message(value: &Value) -> &Value {
    match value.get("message") {
        Some(inner) if value.get("message_id").is_none() => inner,
        _ => value,
    }
}

fn bot_user_json() -> Value {
    json!({ "id": BOT_ID, "is_bot": true, "first_name": "floorbot", "username": "floorbot_test_bot" })
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX))
}

fn utf16_len(text: &str) -> usize {
    text.encode_utf16().count()
}

// ---------------------------------------------------------------------------
// Server state
// ---------------------------------------------------------------------------

struct Shared {
    spec: Spec,
    state: Mutex<FakeState>,
    /// Signalled on every state change that a waiter (long poll, `wait_for`, ...) may care about.
    changed: Notify,
    /// The time line flood limits are measured on.
    clock: Arc<dyn Clock>,
}

impl Shared {
    /// A panic elsewhere must not take the server down with it, so poisoning is ignored.
    fn lock(&self) -> MutexGuard<'_, FakeState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Re-evaluates `check` on every state change until it yields a value or `deadline` passes.
    async fn wait_until<T>(&self, deadline: Instant, mut check: impl FnMut(&mut FakeState) -> Option<T>) -> Option<T> {
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

struct FakeState {
    next_update_id: i64,
    /// Updates not yet confirmed by the bot, with their `update_id` set.
    pending: VecDeque<Value>,
    /// The bot's last `allowed_updates`; Telegram keeps it between getUpdates calls.
    allowed_updates: Option<Vec<String>>,
    next_message_ids: HashMap<i64, i64>,
    next_file_id: u64,
    chats: HashMap<i64, Value>,
    users: HashMap<i64, Value>,
    members: HashMap<i64, Vec<Value>>,
    messages: HashMap<(i64, i64), Value>,
    /// What the bot sent for its messages, before rendering: edits are compared to this.
    sources: HashMap<(i64, i64), Source>,
    limits: Option<RateLimits>,
    limiter: Limiter,
    canned_results: HashMap<String, Value>,
    requests: Vec<Recorded>,
    failed: Vec<Recorded>,
    failure: Option<Failure>,
    fail_next: HashMap<String, VecDeque<ApiError>>,
    undeletable_chats: HashSet<i64>,
    violations: Vec<String>,
    get_updates_calls: usize,
    stopped: bool,
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
struct ApiError {
    code: u16,
    description: String,
    parameters: Option<Value>,
}

impl ApiError {
    fn bad_request(reason: &str) -> ApiError {
        ApiError { code: 400, description: format!("Bad Request: {reason}"), parameters: None }
    }

    fn body(&self) -> Value {
        let mut body = json!({ "ok": false, "error_code": self.code, "description": self.description });
        if let Some(parameters) = &self.parameters {
            body["parameters"] = parameters.clone();
        }
        body
    }

    fn response(&self) -> Response {
        let status = StatusCode::from_u16(self.code).unwrap_or(StatusCode::BAD_REQUEST);
        (status, axum::Json(self.body())).into_response()
    }
}

impl ApiError {
    fn too_many_requests(retry_after: u64) -> ApiError {
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

fn ok_response(result: Value) -> Response {
    axum::Json(json!({ "ok": true, "result": result })).into_response()
}

// ---------------------------------------------------------------------------
// Edits and flood limits
// ---------------------------------------------------------------------------

/// A message's content as the bot sent it: raw text or caption (markup unparsed), parse mode
/// and inline keyboard. Telegram refuses an edit that would change none of these, so the
/// rendered text kept in `messages` is not enough to judge.
struct Source {
    text: Option<String>,
    caption: Option<String>,
    parse_mode: Option<String>,
    reply_markup: Option<Value>,
}

/// Theoretical arrival times (GCRA) of every flood budget, and the requests refused so far.
#[derive(Default)]
struct Limiter {
    chats: HashMap<i64, DateTime<Utc>>,
    groups: HashMap<i64, DateTime<Utc>>,
    global: Option<DateTime<Utc>>,
    /// 429s per chat (0 for requests without a chat).
    refusals: HashMap<i64, usize>,
}

/// One GCRA budget: one request per `interval`, `tolerance` ahead of that pace at most.
#[derive(Clone, Copy)]
struct Budget {
    interval: chrono::Duration,
    tolerance: chrono::Duration,
}

impl Budget {
    fn new(per_second: f64, burst: u32, slack: Duration) -> Budget {
        let interval = chrono::Duration::nanoseconds((1e9 / per_second).round() as i64);
        let slack = chrono::Duration::from_std(slack).unwrap_or(chrono::Duration::MAX);
        Budget { interval, tolerance: interval * (burst.max(1) - 1) as i32 + slack }
    }

    /// The budget's next theoretical arrival time if a request at `now` is allowed, or how
    /// long that request would have to wait.
    fn admit(self, tat: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Result<DateTime<Utc>, chrono::Duration> {
        let tat = tat.map_or(now, |tat| tat.max(now));
        let allowed_from = tat - self.tolerance;
        if now < allowed_from { Err(allowed_from - now) } else { Ok(tat + self.interval) }
    }
}

impl Limiter {
    /// Charges one request to `chat_id`'s budget, its group's (negative ids) and the global
    /// one, all or none. On refusal, returns how long until all three would allow it.
    fn acquire(
        &mut self,
        limits: &RateLimits,
        chat_id: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<(), chrono::Duration> {
        let chat = Budget::new(limits.per_chat_per_second, limits.per_chat_burst, limits.slack);
        let group = Budget::new(limits.group_per_minute / 60.0, limits.group_burst, limits.slack);
        let global = Budget::new(limits.global_per_second, limits.global_burst, limits.slack);
        let outcomes = [
            chat_id.map(|id| chat.admit(self.chats.get(&id).copied(), now)),
            chat_id.filter(|id| *id < 0).map(|id| group.admit(self.groups.get(&id).copied(), now)),
            Some(global.admit(self.global, now)),
        ];
        let wait = outcomes.iter().flatten().filter_map(|outcome| outcome.err()).max();
        if let Some(wait) = wait {
            return Err(wait);
        }
        let [chat_tat, group_tat, global_tat] = outcomes.map(|outcome| outcome.and_then(Result::ok));
        if let (Some(id), Some(tat)) = (chat_id, chat_tat) {
            self.chats.insert(id, tat);
        }
        if let (Some(id), Some(tat)) = (chat_id, group_tat) {
            self.groups.insert(id, tat);
        }
        self.global = global_tat.or(self.global);
        Ok(())
    }
}

/// Whole seconds to wait, rounded up, at least 1: Telegram never says `retry_after: 0`.
fn retry_after_secs(wait: chrono::Duration) -> u64 {
    let nanos = wait.num_nanoseconds().unwrap_or(i64::MAX).max(0) as u64;
    nanos.div_ceil(1_000_000_000).max(1)
}

/// An integer parameter, whether it arrived as a JSON number or as text.
fn param_i64(value: Option<&Value>) -> Option<i64> {
    match value? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn param_string(params: &Map<String, Value>, name: &str) -> Option<String> {
    params.get(name).and_then(Value::as_str).map(str::to_owned)
}

// ---------------------------------------------------------------------------
// Request handling
// ---------------------------------------------------------------------------

async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let at = std::time::Instant::now();
    let (parts, body) = request.into_parts();
    let Some((token, method_name)) = split_method_path(parts.uri.path()) else {
        return ApiError { code: 404, description: "Not Found".to_owned(), parameters: None }.response();
    };
    let method = shared.spec.method(&method_name);
    let params = match to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => parse_params(method.map(|(_, spec)| spec), &parts.headers, parts.uri.query(), &bytes),
        Err(_) => Err("request body is unreadable or too large".to_owned()),
    };
    let params = match params {
        Ok(params) => params,
        Err(reason) => {
            let error = ApiError::bad_request(&reason);
            let violation = format!("{method_name}: {reason}");
            shared.record_failure(token, method_name, Value::Null, violation, &error, at);
            return error.response();
        }
    };
    match method {
        None => {
            let error = ApiError { code: 404, description: "Not Found".to_owned(), parameters: None };
            let violation = format!("{method_name}: no such Bot API method");
            shared.record_failure(token, method_name, Value::Object(params), violation, &error, at);
            error.response()
        }
        Some(("getUpdates", _)) => get_updates(&shared, params).await,
        Some((method, _)) => shared.call(token, method, params, at),
    }
}

impl Shared {
    fn record_failure(
        &self,
        token: String,
        method: String,
        body: Value,
        violation: String,
        error: &ApiError,
        at: std::time::Instant,
    ) {
        let mut state = self.lock();
        state.violations.push(violation);
        state.failed.push(Recorded { method, body, token, result: error.body(), at });
        drop(state);
        self.changed.notify_waiters();
    }

    /// Serves any method but getUpdates.
    fn call(&self, token: String, method: &str, params: Map<String, Value>, at: std::time::Instant) -> Response {
        let mut checks = Checks::default();
        self.spec.check_request(method, &params, &mut checks);
        check_semantics(method, &params, &mut checks);

        let now = self.clock.now();
        let mut state = self.lock();
        state.violations.append(&mut checks.violations);
        let outcome = match state.planned_failure(method) {
            Some(error) => Err(error),
            None => match checks.rejection {
                Some(description) => Err(ApiError { code: 400, description, parameters: None }),
                None => state.refuse_or_answer(&self.spec, method, &params, now),
            },
        };
        let body = Value::Object(params);
        let method = method.to_owned();
        let response = match outcome {
            Ok(result) => {
                state.requests.push(Recorded { method, body, token, result: result.clone(), at });
                ok_response(result)
            }
            Err(error) => {
                state.failed.push(Recorded { method, body, token, result: error.body(), at });
                error.response()
            }
        };
        drop(state);
        self.changed.notify_waiters();
        response
    }
}

/// Long polling: answers at once when updates are pending, otherwise waits (capped) for a push.
async fn get_updates(shared: &Shared, params: Map<String, Value>) -> Response {
    let mut checks = Checks::default();
    shared.spec.check_request("getUpdates", &params, &mut checks);
    let limit = params.get("limit").and_then(Value::as_u64).map_or(100, |limit| limit.clamp(1, 100));
    let limit = usize::try_from(limit).unwrap_or(100);
    let timeout = Duration::from_secs(params.get("timeout").and_then(Value::as_u64).unwrap_or(0));
    {
        let mut state = shared.lock();
        state.get_updates_calls += 1;
        state.violations.append(&mut checks.violations);
        if let Some(error) = state.planned_failure("getUpdates") {
            return error.response();
        }
        if let Some(allowed) = params.get("allowed_updates").and_then(Value::as_array) {
            state.allowed_updates = Some(allowed.iter().filter_map(Value::as_str).map(str::to_owned).collect());
        }
        if let Some(offset) = params.get("offset").and_then(Value::as_i64) {
            state.confirm_updates(offset);
        }
    }
    // Confirmations may complete a `wait_updates_consumed`.
    shared.changed.notify_waiters();

    let deadline = Instant::now() + timeout.min(LONG_POLL_CAP);
    let batch = shared
        .wait_until(deadline, |state| {
            let batch = state.deliverable_updates(limit);
            (state.stopped || !batch.is_empty()).then_some(batch)
        })
        .await;
    let batch = batch.unwrap_or_else(|| shared.lock().deliverable_updates(limit));
    shared.changed.notify_waiters();
    ok_response(Value::Array(batch))
}

/// Splits `/bot<token>/<method>`.
fn split_method_path(path: &str) -> Option<(String, String)> {
    let (token, method) = path.strip_prefix("/bot")?.rsplit_once('/')?;
    if token.is_empty() || method.is_empty() {
        return None;
    }
    Some((percent_decode(token, false), percent_decode(method, false)))
}

impl FakeState {
    /// Telegram's history-dependent refusals first (an edit that changes nothing, then the
    /// flood limits), so that a refused request leaves messages and budgets as they were;
    /// then the answer.
    fn refuse_or_answer(
        &mut self,
        spec: &Spec,
        method: &str,
        params: &Map<String, Value>,
        now: DateTime<Utc>,
    ) -> Result<Value, ApiError> {
        if let Some((chat_id, message_id)) = self.unmodified_edit(method, params) {
            self.violations.push(format!("{method} in {chat_id}/{message_id}: message is not modified"));
            return Err(ApiError::bad_request(NOT_MODIFIED));
        }
        if let Some(limits) = self.limits.filter(|_| CHARGED_METHODS.contains(&method)) {
            let chat_id = self.resolve_chat(params.get("chat_id")).ok().map(|(id, _)| id);
            if let Err(wait) = self.limiter.acquire(&limits, chat_id, now) {
                let target = chat_id.map_or_else(|| "an inline message".to_owned(), |id| id.to_string());
                self.violations.push(format!("{method} to {target}: over Telegram's rate limit"));
                *self.limiter.refusals.entry(chat_id.unwrap_or(0)).or_default() += 1;
                return Err(ApiError::too_many_requests(retry_after_secs(wait)));
            }
        }
        self.answer(spec, method, params)
    }

    /// The message an edit is aimed at, when that edit would leave its text (or caption),
    /// parse mode and keyboard exactly as the bot last sent them. Messages whose source the
    /// fake does not know (pushed by a test, sent before it started, forwarded) are not judged.
    fn unmodified_edit(&self, method: &str, params: &Map<String, Value>) -> Option<(i64, i64)> {
        if !matches!(method, "editMessageText" | "editMessageCaption" | "editMessageReplyMarkup") {
            return None;
        }
        let (chat_id, _) = self.resolve_chat(params.get("chat_id")).ok()?;
        let message_id = param_i64(params.get("message_id"))?;
        let stored = self.sources.get(&(chat_id, message_id))?;
        let same_markup = stored.reply_markup == keyboard(params);
        let same_content = match method {
            "editMessageText" => stored.text.is_some() && stored.text == param_string(params, "text"),
            "editMessageCaption" => stored.caption == param_string(params, "caption"),
            _ => true,
        };
        let same_mode = method == "editMessageReplyMarkup" || stored.parse_mode == param_string(params, "parse_mode");
        (same_markup && same_content && same_mode).then_some((chat_id, message_id))
    }

    /// Remembers what the bot sent for a message it just posted.
    fn remember_source(&mut self, message: &Value, params: &Map<String, Value>) {
        let (Some(chat_id), Some(message_id)) =
            (message.get("chat").and_then(chat_id_of), message.get("message_id").and_then(Value::as_i64))
        else {
            return;
        };
        let source = Source {
            text: param_string(params, "text"),
            caption: param_string(params, "caption"),
            parse_mode: param_string(params, "parse_mode"),
            reply_markup: keyboard(params),
        };
        self.sources.insert((chat_id, message_id), source);
    }

    fn planned_failure(&mut self, method: &str) -> Option<ApiError> {
        if let Some(failure) = &self.failure {
            return Some(failure.error());
        }
        self.fail_next.get_mut(method).and_then(VecDeque::pop_front)
    }

    /// Drops updates the bot has confirmed, with Telegram's `offset` semantics.
    fn confirm_updates(&mut self, offset: i64) {
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
    fn deliverable_updates(&mut self, limit: usize) -> Vec<Value> {
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
    fn absorb_update(&mut self, update: &Value) {
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

    fn set_member(&mut self, chat_id: i64, member: Value) {
        let user_id = member.get("user").and_then(|u| u.get("id")).and_then(Value::as_i64);
        let members = self.members.entry(chat_id).or_default();
        members.retain(|m| m.get("user").and_then(|u| u.get("id")).and_then(Value::as_i64) != user_id);
        members.push(member);
    }

    fn allocate_message_id(&mut self, chat_id: i64) -> i64 {
        let next = self.next_message_ids.entry(chat_id).or_insert(1);
        let id = *next;
        *next += 1;
        id
    }

    fn allocate_file_id(&mut self, kind: &str) -> String {
        let id = self.next_file_id;
        self.next_file_id += 1;
        format!("fake-{kind}-{id}")
    }

    /// Resolves a `chat_id` parameter (id, numeric string or @username) to the chat id
    /// and the Chat object to echo.
    fn resolve_chat(&self, value: Option<&Value>) -> Result<(i64, Value), ApiError> {
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

    fn member(&self, chat_id: i64, user_id: i64) -> Value {
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

    /// Builds a message from the bot, stores it and returns it.
    fn post_bot_message(&mut self, chat_id: i64, chat: Value, content: Map<String, Value>) -> Value {
        let message_id = self.allocate_message_id(chat_id);
        let mut message = json!({
            "message_id": message_id,
            "date": unix_now(),
            "chat": chat,
            "from": bot_user_json(),
        });
        if let Some(fields) = message.as_object_mut() {
            fields.extend(content);
        }
        self.messages.insert((chat_id, message_id), message.clone());
        message
    }

    /// The successful result of a request that passed all checks.
    fn answer(&mut self, spec: &Spec, method: &str, params: &Map<String, Value>) -> Result<Value, ApiError> {
        if let Some(result) = self.canned_results.get(method) {
            return Ok(result.clone());
        }
        match method {
            "getMe" => {
                let mut me = bot_user_json();
                for (flag, value) in [
                    ("can_join_groups", true),
                    ("can_read_all_group_messages", true),
                    ("supports_inline_queries", false),
                    ("can_connect_to_business", false),
                    ("has_main_web_app", false),
                ] {
                    me[flag] = json!(value);
                }
                Ok(me)
            }
            "getWebhookInfo" => Ok(json!({ "url": "", "has_custom_certificate": false, "pending_update_count": 0 })),
            "getMyCommands" => Ok(json!([])),
            "getChat" => {
                let (_, chat) = self.resolve_chat(params.get("chat_id"))?;
                Ok(chat_full_info(chat))
            }
            "getChatMember" => {
                let (chat_id, _) = self.resolve_chat(params.get("chat_id"))?;
                let user_id = params.get("user_id").and_then(Value::as_i64).unwrap_or(0);
                Ok(self.member(chat_id, user_id))
            }
            "getChatAdministrators" => {
                let (chat_id, _) = self.resolve_chat(params.get("chat_id"))?;
                let admins =
                    self.members.get(&chat_id).into_iter().flatten().filter(|m| {
                        matches!(m.get("status").and_then(Value::as_str), Some("administrator" | "creator"))
                    });
                Ok(Value::Array(admins.cloned().collect()))
            }
            "getChatMemberCount" => {
                let (chat_id, _) = self.resolve_chat(params.get("chat_id"))?;
                Ok(json!(self.members.get(&chat_id).map_or(0, Vec::len).max(2)))
            }
            "deleteMessage" | "deleteMessages" => {
                let (chat_id, _) = self.resolve_chat(params.get("chat_id"))?;
                if self.undeletable_chats.contains(&chat_id) {
                    return Err(ApiError::bad_request("message can't be deleted"));
                }
                let ids = params.get("message_ids").and_then(Value::as_array).cloned().unwrap_or_default();
                for id in ids.iter().chain(params.get("message_id")).filter_map(Value::as_i64) {
                    self.messages.remove(&(chat_id, id));
                    self.sources.remove(&(chat_id, id));
                }
                Ok(json!(true))
            }
            "sendMessage" => {
                let (chat_id, chat) = self.resolve_chat(params.get("chat_id"))?;
                let mut content = Map::new();
                content.insert("text".to_owned(), json!(rendered(params, "text")));
                copy_message_options(params, &mut content);
                let message = self.post_bot_message(chat_id, chat, content);
                self.remember_source(&message, params);
                Ok(message)
            }
            "sendDocument" | "sendPhoto" => {
                let (chat_id, chat) = self.resolve_chat(params.get("chat_id"))?;
                let mut content = Map::new();
                if method == "sendDocument" {
                    let document = self.document(params.get("document"));
                    content.insert("document".to_owned(), document);
                } else {
                    let photo = self.photo(params.get("photo"));
                    content.insert("photo".to_owned(), photo);
                }
                if params.contains_key("caption") {
                    content.insert("caption".to_owned(), json!(rendered(params, "caption")));
                }
                copy_message_options(params, &mut content);
                let message = self.post_bot_message(chat_id, chat, content);
                self.remember_source(&message, params);
                Ok(message)
            }
            "forwardMessage" | "copyMessage" => self.forward(method, params),
            "editMessageText" | "editMessageCaption" | "editMessageReplyMarkup" => self.edit(method, params),
            _ => self.answer_by_return_type(spec, method, params),
        }
    }

    fn document(&mut self, upload: Option<&Value>) -> Value {
        if let Some(Value::String(file_id)) = upload {
            return json!({ "file_id": file_id, "file_unique_id": format!("u-{file_id}") });
        }
        let file_id = self.allocate_file_id("document");
        let mut document = json!({ "file_id": file_id, "file_unique_id": format!("u-{file_id}") });
        if let Some(Value::Object(upload)) = upload {
            for field in ["file_name", "mime_type"] {
                if let Some(value) = upload.get(field) {
                    document[field] = value.clone();
                }
            }
            if let Some(size) = upload.get("size") {
                document["file_size"] = size.clone();
            }
        }
        document
    }

    fn photo(&mut self, upload: Option<&Value>) -> Value {
        let file_id = match upload {
            Some(Value::String(file_id)) => file_id.clone(),
            _ => self.allocate_file_id("photo"),
        };
        json!([
            { "file_id": format!("{file_id}-s"), "file_unique_id": format!("u-{file_id}-s"), "width": 90, "height": 90 },
            { "file_id": file_id, "file_unique_id": format!("u-{file_id}"), "width": 800, "height": 800 },
        ])
    }

    fn forward(&mut self, method: &str, params: &Map<String, Value>) -> Result<Value, ApiError> {
        let (from_chat_id, _) = self.resolve_chat(params.get("from_chat_id"))?;
        let (chat_id, chat) = self.resolve_chat(params.get("chat_id"))?;
        let source_id = params.get("message_id").and_then(Value::as_i64).unwrap_or(0);
        let source = self.messages.get(&(from_chat_id, source_id)).cloned().unwrap_or_else(|| json!({ "text": "" }));
        let mut content: Map<String, Value> = ["text", "entities", "caption", "caption_entities", "document", "photo"]
            .into_iter()
            .filter_map(|field| Some((field.to_owned(), source.get(field)?.clone())))
            .collect();
        if method == "copyMessage" {
            if params.contains_key("caption") {
                content.insert("caption".to_owned(), json!(rendered(params, "caption")));
            }
            copy_message_options(params, &mut content);
            let copy = self.post_bot_message(chat_id, chat, content);
            return Ok(json!({ "message_id": copy["message_id"] }));
        }
        let date = source.get("date").cloned().unwrap_or_else(|| json!(unix_now()));
        let origin = match source.get("from") {
            Some(sender) => json!({ "type": "user", "date": date, "sender_user": sender }),
            None => json!({ "type": "hidden_user", "date": date, "sender_user_name": "Unknown" }),
        };
        content.insert("forward_origin".to_owned(), origin);
        Ok(self.post_bot_message(chat_id, chat, content))
    }

    /// editMessageText / editMessageCaption / editMessageReplyMarkup and other edits of a
    /// chat message. As in Telegram, an edit without `reply_markup` removes the keyboard.
    fn edit(&mut self, method: &str, params: &Map<String, Value>) -> Result<Value, ApiError> {
        if params.contains_key("inline_message_id") {
            return Ok(json!(true));
        }
        let (chat_id, chat) = self.resolve_chat(params.get("chat_id"))?;
        let message_id = params
            .get("message_id")
            .and_then(Value::as_i64)
            .ok_or_else(|| ApiError::bad_request("message identifier is not specified"))?;
        let mut message = match self.messages.get(&(chat_id, message_id)) {
            Some(stored) if stored.get("from").and_then(|f| f.get("id")).and_then(Value::as_i64) != Some(BOT_ID) => {
                return Err(ApiError::bad_request("message can't be edited"));
            }
            Some(stored) => stored.clone(),
            // Unknown to the fake (e.g. sent before it started): assume a bot text message.
            None => json!({
                "message_id": message_id,
                "date": unix_now(),
                "chat": chat,
                "from": bot_user_json(),
                "text": "",
            }),
        };
        let Some(fields) = message.as_object_mut() else {
            return Err(ApiError::bad_request("message to edit not found"));
        };
        match method {
            "editMessageText" => {
                if !fields.contains_key("text") {
                    return Err(ApiError::bad_request("there is no text in the message to edit"));
                }
                fields.insert("text".to_owned(), json!(rendered(params, "text")));
                fields.remove("entities");
            }
            "editMessageCaption" => {
                fields.insert("caption".to_owned(), json!(rendered(params, "caption")));
                fields.remove("caption_entities");
            }
            _ => {}
        }
        match inline_markup(params) {
            Some(markup) => fields.insert("reply_markup".to_owned(), markup),
            None => fields.remove("reply_markup"),
        };
        fields.insert("edit_date".to_owned(), json!(unix_now()));
        self.messages.insert((chat_id, message_id), message.clone());
        if let Some(source) = self.sources.get_mut(&(chat_id, message_id)) {
            match method {
                "editMessageText" => {
                    source.text = param_string(params, "text");
                    source.parse_mode = param_string(params, "parse_mode");
                }
                "editMessageCaption" => {
                    source.caption = param_string(params, "caption");
                    source.parse_mode = param_string(params, "parse_mode");
                }
                _ => {}
            }
            source.reply_markup = keyboard(params);
        }
        Ok(message)
    }

    /// Methods without a dedicated answer: something of the declared return type.
    fn answer_by_return_type(
        &mut self,
        spec: &Spec,
        method: &str,
        params: &Map<String, Value>,
    ) -> Result<Value, ApiError> {
        let returns = spec.methods.get(method).map(|m| m.returns.as_slice()).unwrap_or_default();
        let first = returns.first().map_or("Boolean", String::as_str);
        match first {
            "Message" if returns.iter().any(|r| r == "Boolean") => self.edit(method, params),
            "Message" => {
                let (chat_id, chat) = self.resolve_chat(params.get("chat_id"))?;
                let mut content = Map::new();
                if params.contains_key("caption") {
                    content.insert("caption".to_owned(), json!(rendered(params, "caption")));
                } else {
                    content.insert("text".to_owned(), json!(""));
                }
                copy_message_options(params, &mut content);
                Ok(self.post_bot_message(chat_id, chat, content))
            }
            "Array of Message" => {
                let (chat_id, chat) = self.resolve_chat(params.get("chat_id"))?;
                let media = params.get("media").and_then(Value::as_array).cloned().unwrap_or_default();
                let mut sent = Vec::new();
                for item in &media {
                    let mut content = Map::new();
                    match item.get("type").and_then(Value::as_str) {
                        Some("photo") => content.insert("photo".to_owned(), self.photo(item.get("media"))),
                        Some("document") => content.insert("document".to_owned(), self.document(item.get("media"))),
                        _ => content.insert("text".to_owned(), json!("")),
                    };
                    sent.push(self.post_bot_message(chat_id, chat.clone(), content));
                }
                Ok(Value::Array(sent))
            }
            "MessageId" => {
                let (chat_id, _) = self.resolve_chat(params.get("chat_id"))?;
                Ok(json!({ "message_id": self.allocate_message_id(chat_id) }))
            }
            "Array of MessageId" => {
                let (chat_id, _) = self.resolve_chat(params.get("chat_id"))?;
                let count = params.get("message_ids").and_then(Value::as_array).map_or(0, Vec::len);
                let ids = (0..count).map(|_| json!({ "message_id": self.allocate_message_id(chat_id) }));
                Ok(Value::Array(ids.collect()))
            }
            "Integer" => Ok(json!(0)),
            "String" => Ok(json!("")),
            other if other.starts_with("Array of ") => Ok(json!([])),
            _ => Ok(json!(true)),
        }
    }
}

fn update_id(update: &Value) -> i64 {
    update.get("update_id").and_then(Value::as_i64).unwrap_or(0)
}

/// The update's kind, i.e. its one field besides `update_id` (`message`, `callback_query`, ...).
fn update_kind(update: &Value) -> &str {
    update.as_object().and_then(|fields| fields.keys().find(|k| *k != "update_id")).map_or("", String::as_str)
}

fn chat_id_of(chat: &Value) -> Option<i64> {
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

/// `ChatFullInfo` for getChat: the Chat plus the fields teloxide requires.
fn chat_full_info(chat: Value) -> Value {
    let mut info = chat;
    info["accepted_gift_types"] = json!({
        "unlimited_gifts": false,
        "limited_gifts": false,
        "unique_gifts": false,
        "premium_subscription": false,
    });
    info["max_reaction_count"] = json!(11);
    info
}

/// Text or caption as Telegram stores it: markup removed when `parse_mode` is HTML.
fn rendered(params: &Map<String, Value>, field: &str) -> String {
    let raw = params.get(field).and_then(Value::as_str).unwrap_or_default();
    match params.get("parse_mode").and_then(Value::as_str) {
        Some("HTML") => parse_html(raw).map_or_else(|_| raw.to_owned(), |html| html.text),
        _ => raw.to_owned(),
    }
}

/// A `reply_markup` that a Message can carry (only inline keyboards are echoed).
fn inline_markup(params: &Map<String, Value>) -> Option<Value> {
    params.get("reply_markup").filter(|markup| markup.get("inline_keyboard").is_some()).cloned()
}

/// The inline keyboard a message ends up with, for comparing edits: a keyboard without
/// buttons is no keyboard at all.
fn keyboard(params: &Map<String, Value>) -> Option<Value> {
    inline_markup(params).filter(|markup| {
        let rows = markup.get("inline_keyboard").and_then(Value::as_array);
        rows.into_iter().flatten().any(|row| row.as_array().is_some_and(|buttons| !buttons.is_empty()))
    })
}

fn copy_message_options(params: &Map<String, Value>, content: &mut Map<String, Value>) {
    if let Some(markup) = inline_markup(params) {
        content.insert("reply_markup".to_owned(), markup);
    }
    if let Some(thread) = params.get("message_thread_id") {
        content.insert("message_thread_id".to_owned(), thread.clone());
    }
}

// ---------------------------------------------------------------------------
// Request decoding
// ---------------------------------------------------------------------------

/// Reads the parameters from the query string and the body (JSON, urlencoded or multipart).
fn parse_params(
    method: Option<&MethodSpec>,
    headers: &HeaderMap,
    query: Option<&str>,
    body: &[u8],
) -> Result<Map<String, Value>, String> {
    let mut params = Map::new();
    for (name, value) in parse_urlencoded(query.unwrap_or_default()) {
        let value = coerce_text_param(method, &name, value);
        params.insert(name, value);
    }
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let mime = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    match mime.as_str() {
        _ if body.iter().all(u8::is_ascii_whitespace) => {}
        "application/json" | "" => match serde_json::from_slice(body) {
            Ok(Value::Object(fields)) => params.extend(fields),
            Ok(_) => return Err("request body must be a JSON object".to_owned()),
            Err(error) => return Err(format!("can't parse JSON body: {error}")),
        },
        "application/x-www-form-urlencoded" => {
            let text = std::str::from_utf8(body).map_err(|_| "form body is not UTF-8".to_owned())?;
            for (name, value) in parse_urlencoded(text) {
                let value = coerce_text_param(method, &name, value);
                params.insert(name, value);
            }
        }
        "multipart/form-data" => params.extend(parse_multipart(method, content_type, body)?),
        other => return Err(format!("unsupported Content-Type {other:?}")),
    }
    Ok(params)
}

/// Turns a textual parameter (form, query or multipart) into the JSON value its spec type implies.
fn coerce_text_param(method: Option<&MethodSpec>, name: &str, raw: String) -> Value {
    let Some(field) = method.and_then(|m| m.fields.iter().find(|f| f.name == name)) else {
        return Value::String(raw);
    };
    for ty in &field.types {
        match ty.as_str() {
            "Integer" => {
                if let Ok(n) = raw.parse::<i64>() {
                    return json!(n);
                }
            }
            "Float" => {
                if let Some(n) = raw.parse::<f64>().ok().and_then(Number::from_f64) {
                    return Value::Number(n);
                }
            }
            "Boolean" => match raw.as_str() {
                "true" | "True" => return json!(true),
                "false" | "False" => return json!(false),
                _ => {}
            },
            "String" | "InputFile" => {}
            _ => {
                if let Ok(value @ (Value::Object(_) | Value::Array(_))) = serde_json::from_str(&raw) {
                    return value;
                }
            }
        }
    }
    Value::String(raw)
}

fn parse_urlencoded(text: &str) -> Vec<(String, String)> {
    text.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(name, true), percent_decode(value, true))
        })
        .collect()
}

fn percent_decode(text: &str, plus_is_space: bool) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        let escaped = bytes
            .get(i + 1..i + 3)
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match (byte, escaped) {
            (b'%', Some(value)) => {
                decoded.push(value);
                i += 3;
                continue;
            }
            (b'+', _) if plus_is_space => decoded.push(b' '),
            _ => decoded.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

/// A minimal multipart/form-data reader: enough for what HTTP clients send to the Bot API.
/// Uploaded files referenced as `attach://<part>` are substituted into the referring field.
fn parse_multipart(method: Option<&MethodSpec>, content_type: &str, body: &[u8]) -> Result<Map<String, Value>, String> {
    let boundary = content_type
        .split(';')
        .find_map(|param| param.trim().strip_prefix("boundary="))
        .map(|b| b.trim_matches('"'))
        .filter(|b| !b.is_empty())
        .ok_or("multipart body without boundary")?;
    let delimiter = format!("--{boundary}");
    let part_end = format!("\r\n--{boundary}");

    let start = find_bytes(body, delimiter.as_bytes()).ok_or("multipart body has no parts")?;
    let mut rest = &body[start + delimiter.len()..];
    let mut texts = Vec::new();
    let mut files = HashMap::new();
    while !rest.starts_with(b"--") {
        rest = rest.strip_prefix(b"\r\n").ok_or("malformed multipart delimiter")?;
        let end = find_bytes(rest, part_end.as_bytes()).ok_or("unterminated multipart part")?;
        let (part, after) = rest.split_at(end);
        rest = &after[part_end.len()..];

        let (head, content) = match part.strip_prefix(b"\r\n") {
            Some(content) => (&b""[..], content),
            None => {
                let split = find_bytes(part, b"\r\n\r\n").ok_or("multipart part without header end")?;
                (&part[..split], &part[split + 4..])
            }
        };
        let head = String::from_utf8_lossy(head);
        let mut name = None;
        let mut file_name = None;
        let mut mime_type = None;
        for line in head.split("\r\n") {
            let Some((key, value)) = line.split_once(':') else { continue };
            match key.trim().to_ascii_lowercase().as_str() {
                "content-disposition" => {
                    for param in value.split(';').skip(1) {
                        let Some((key, value)) = param.trim().split_once('=') else { continue };
                        let value = value.trim().trim_matches('"').to_owned();
                        match key.trim() {
                            "name" => name = Some(value),
                            "filename" => file_name = Some(value),
                            _ => {}
                        }
                    }
                }
                "content-type" => mime_type = Some(value.trim().to_owned()),
                _ => {}
            }
        }
        let name = name.ok_or("multipart part without a name")?;
        match file_name {
            Some(file_name) => {
                let mut file = json!({
                    "file_name": file_name,
                    "size": content.len(),
                    "content": String::from_utf8_lossy(content),
                });
                if let Some(mime_type) = mime_type {
                    file["mime_type"] = json!(mime_type);
                }
                files.insert(name, file);
            }
            None => {
                let text =
                    String::from_utf8(content.to_vec()).map_err(|_| format!("multipart field {name} is not UTF-8"))?;
                texts.push((name, text));
            }
        }
    }

    let mut params = Map::new();
    for (name, text) in texts {
        let attached = text.strip_prefix("attach://").and_then(|id| files.remove(id));
        let value = match attached {
            Some(file) => file,
            None => coerce_text_param(method, &name, text),
        };
        params.insert(name, value);
    }
    params.extend(files);
    Ok(params)
}

fn find_bytes(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}

// ---------------------------------------------------------------------------
// Bot API spec and request checks
// ---------------------------------------------------------------------------

struct Spec {
    methods: HashMap<String, MethodSpec>,
    types: HashMap<String, TypeSpec>,
}

struct MethodSpec {
    fields: Vec<FieldSpec>,
    returns: Vec<String>,
}

struct TypeSpec {
    fields: Vec<FieldSpec>,
    /// For abstract types (e.g. BotCommandScope): the concrete types a value may be.
    subtypes: Vec<String>,
}

struct FieldSpec {
    name: String,
    types: Vec<String>,
    required: bool,
}

impl Spec {
    fn load(path: &str) -> Spec {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read the Bot API spec {path}: {e}"));
        let spec: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse the Bot API spec {path}: {e}"));
        let entries = |key: &str| spec.get(key).and_then(Value::as_object).cloned().unwrap_or_default();
        let methods = entries("methods")
            .into_iter()
            .map(|(name, method)| {
                let returns = strings(method.get("returns"));
                (name, MethodSpec { fields: fields_of(&method), returns })
            })
            .collect();
        let types = entries("types")
            .into_iter()
            .map(|(name, ty)| (name, TypeSpec { fields: fields_of(&ty), subtypes: strings(ty.get("subtypes")) }))
            .collect();
        Spec { methods, types }
    }

    /// Looks a method up by name (Bot API method names are case-insensitive) and
    /// returns its canonical name with its spec.
    fn method(&self, name: &str) -> Option<(&str, &MethodSpec)> {
        self.methods
            .get_key_value(name)
            .or_else(|| self.methods.iter().find(|(known, _)| known.eq_ignore_ascii_case(name)))
            .map(|(name, spec)| (name.as_str(), spec))
    }

    /// Structural checks: required fields present, no unknown fields, values of the declared types.
    fn check_request(&self, method: &str, params: &Map<String, Value>, checks: &mut Checks) {
        let Some(spec) = self.methods.get(method) else { return };
        for field in spec.fields.iter().filter(|f| f.required && !params.contains_key(&f.name)) {
            let reason = match field.name.as_str() {
                "text" => "message text is empty".to_owned(),
                name => format!("{name} is empty"),
            };
            checks.reject(format!("{method}: required field `{}` is missing", field.name), &reason);
        }
        for (name, value) in params {
            match spec.fields.iter().find(|f| &f.name == name) {
                Some(field) => {
                    self.check_value(&format!("{method}.{name}"), value, &field.types, &mut checks.violations)
                }
                None => checks.note(format!("{method}: unknown field `{name}`")),
            }
        }
    }

    /// Checks `value` against any of `types`; when none fits, reports the closest one's problems.
    fn check_value(&self, path: &str, value: &Value, types: &[String], problems: &mut Vec<String>) {
        let mut closest: Option<Vec<String>> = None;
        for ty in types {
            let mut found = Vec::new();
            self.check_type(path, value, ty, &mut found);
            if found.is_empty() {
                return;
            }
            if closest.as_ref().is_none_or(|c| found.len() < c.len()) {
                closest = Some(found);
            }
        }
        problems.extend(closest.unwrap_or_default());
    }

    fn check_type(&self, path: &str, value: &Value, ty: &str, problems: &mut Vec<String>) {
        if let Some(item_type) = ty.strip_prefix("Array of ") {
            match value.as_array() {
                Some(items) => {
                    for (i, item) in items.iter().enumerate() {
                        self.check_type(&format!("{path}[{i}]"), item, item_type, problems);
                    }
                }
                None => problems.push(format!("{path}: expected {ty}, got {}", json_kind(value))),
            }
            return;
        }
        let fits = match ty {
            "Integer" => value.is_i64() || value.is_u64(),
            "Float" => value.is_number(),
            "String" => value.is_string(),
            "Boolean" | "True" => value.is_boolean(),
            "InputFile" => value.is_string() || value.is_object(),
            _ => return self.check_object(path, value, ty, problems),
        };
        if !fits {
            problems.push(format!("{path}: expected {ty}, got {}", json_kind(value)));
        }
    }

    fn check_object(&self, path: &str, value: &Value, ty: &str, problems: &mut Vec<String>) {
        // Types missing from the spec, and placeholders without fields, cannot be checked.
        let Some(spec) = self.types.get(ty) else { return };
        if !spec.subtypes.is_empty() {
            return self.check_value(path, value, &spec.subtypes, problems);
        }
        if spec.fields.is_empty() {
            return;
        }
        let Some(object) = value.as_object() else {
            problems.push(format!("{path}: expected {ty}, got {}", json_kind(value)));
            return;
        };
        for field in spec.fields.iter().filter(|f| f.required && !object.contains_key(&f.name)) {
            problems.push(format!("{path}: required field `{}` of {ty} is missing", field.name));
        }
        for (name, value) in object {
            match spec.fields.iter().find(|f| &f.name == name) {
                Some(field) => self.check_value(&format!("{path}.{name}"), value, &field.types, problems),
                None => problems.push(format!("{path}: unknown field `{name}` in {ty}")),
            }
        }
    }
}

fn fields_of(entry: &Value) -> Vec<FieldSpec> {
    let Some(fields) = entry.get("fields").and_then(Value::as_array) else {
        return Vec::new();
    };
    fields
        .iter()
        .filter_map(|field| {
            Some(FieldSpec {
                name: field.get("name")?.as_str()?.to_owned(),
                types: strings(field.get("types")),
                required: field.get("required").and_then(Value::as_bool).unwrap_or(false),
            })
        })
        .collect()
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default()
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// What the checks found about one request.
#[derive(Default)]
struct Checks {
    violations: Vec<String>,
    /// Description of the 400 Telegram itself would answer with, if it would refuse the request.
    rejection: Option<String>,
}

impl Checks {
    fn note(&mut self, violation: String) {
        self.violations.push(violation);
    }

    fn reject(&mut self, violation: String, reason: &str) {
        self.violations.push(violation);
        self.rejection.get_or_insert_with(|| format!("Bad Request: {reason}"));
    }
}

/// Checks beyond the spec's types: formatting, length limits, keyboards, commands.
fn check_semantics(method: &str, params: &Map<String, Value>, checks: &mut Checks) {
    for key in ["chat_id", "from_chat_id"] {
        if params.get(key).and_then(Value::as_i64) == Some(0) {
            checks.reject(format!("{method}: {key} is 0"), "chat not found");
        }
    }
    let parse_mode = params.get("parse_mode").and_then(Value::as_str);
    if let Some(mode) = parse_mode
        && !matches!(mode, "HTML" | "MarkdownV2" | "Markdown")
    {
        checks.reject(
            format!("{method}: unsupported parse_mode {mode:?}"),
            &format!("unsupported parse_mode \"{mode}\""),
        );
    }

    if matches!(method, "sendMessage" | "editMessageText")
        && let Some(text) = params.get("text").and_then(Value::as_str)
        && let Some(shown) = check_formatted(method, "text", text, parse_mode, checks)
    {
        if shown.trim().is_empty() {
            checks.reject(format!("{method}: text is empty after entity parsing"), "message text is empty");
        }
        let len = utf16_len(&shown);
        if len > MAX_TEXT_LEN {
            checks.reject(
                format!("{method}: text is {len} UTF-16 units long, over {MAX_TEXT_LEN}"),
                "message is too long",
            );
        }
    }
    if let Some(caption) = params.get("caption").and_then(Value::as_str)
        && let Some(shown) = check_formatted(method, "caption", caption, parse_mode, checks)
    {
        let len = utf16_len(&shown);
        if len > MAX_CAPTION_LEN {
            checks.reject(
                format!("{method}: caption is {len} UTF-16 units long, over {MAX_CAPTION_LEN}"),
                "message caption is too long",
            );
        }
    }
    if method == "answerCallbackQuery"
        && let Some(text) = params.get("text").and_then(Value::as_str)
        && utf16_len(text) > MAX_CALLBACK_ANSWER_LEN
    {
        checks.note(format!("{method}: text is over {MAX_CALLBACK_ANSWER_LEN} characters"));
    }
    if let Some(markup) = params.get("reply_markup") {
        check_inline_keyboard(method, markup, checks);
    }
    if method == "setMyCommands" {
        check_commands(params, checks);
    }
}

/// Validates HTML markup; returns the text as displayed, or None when Telegram would reject it.
fn check_formatted(
    method: &str,
    field: &str,
    raw: &str,
    parse_mode: Option<&str>,
    checks: &mut Checks,
) -> Option<String> {
    if parse_mode != Some("HTML") {
        return Some(raw.to_owned());
    }
    match parse_html(raw) {
        Ok(html) => {
            for warning in html.warnings {
                checks.note(format!("{method}: {field} HTML: {warning}"));
            }
            Some(html.text)
        }
        Err(reason) => {
            checks.reject(
                format!("{method}: {field} is not valid Telegram HTML: {reason}"),
                &format!("can't parse entities: {reason}"),
            );
            None
        }
    }
}

fn check_inline_keyboard(method: &str, markup: &Value, checks: &mut Checks) {
    let Some(rows) = markup.get("inline_keyboard").and_then(Value::as_array) else { return };
    let buttons = rows
        .iter()
        .enumerate()
        .flat_map(|(r, row)| row.as_array().into_iter().flatten().enumerate().map(move |(c, button)| (r, c, button)));
    let mut count = 0;
    for (r, c, button) in buttons {
        count += 1;
        let at = format!("{method}: inline_keyboard[{r}][{c}]");
        if let Some(data) = button.get("callback_data").and_then(Value::as_str) {
            if data.is_empty() {
                checks.reject(format!("{at}: callback_data is empty"), "BUTTON_DATA_INVALID");
            } else if data.len() > MAX_CALLBACK_DATA_BYTES {
                checks.reject(
                    format!("{at}: callback_data is {} bytes, over {MAX_CALLBACK_DATA_BYTES}: {data:?}", data.len()),
                    "BUTTON_DATA_INVALID",
                );
            }
        }
        let actions = BUTTON_ACTIONS.iter().filter(|action| button.get(**action).is_some()).count();
        if actions == 0 {
            checks.reject(
                format!("{at}: button has no action (callback_data, url, ...)"),
                "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard",
            );
        } else if actions > 1 {
            checks.note(format!("{at}: button has {actions} action fields, exactly one is allowed"));
        }
        if button.get("text").and_then(Value::as_str).is_some_and(|text| text.trim().is_empty()) {
            checks.note(format!("{at}: button text is empty"));
        }
    }
    if count > MAX_INLINE_BUTTONS {
        checks.reject(
            format!("{method}: inline keyboard has {count} buttons, over {MAX_INLINE_BUTTONS}"),
            "reply markup is too long",
        );
    }
}

fn check_commands(params: &Map<String, Value>, checks: &mut Checks) {
    if let Some(code) = params.get("language_code").and_then(Value::as_str)
        && !(code.len() == 2 && code.bytes().all(|b| b.is_ascii_lowercase()))
    {
        checks.reject(format!("setMyCommands: language_code {code:?} is not a two-letter code"), "LANG_CODE_INVALID");
    }
    let commands = params.get("commands").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    if commands.len() > MAX_BOT_COMMANDS {
        checks.note(format!("setMyCommands: {} commands, over {MAX_BOT_COMMANDS}", commands.len()));
    }
    for (i, command) in commands.iter().enumerate() {
        if let Some(name) = command.get("command").and_then(Value::as_str)
            && !is_command_name(name)
        {
            checks.reject(
                format!("setMyCommands: commands[{i}].command {name:?} does not match ^[a-z0-9_]{{1,32}}$"),
                "BOT_COMMAND_INVALID",
            );
        }
        if let Some(description) = command.get("description").and_then(Value::as_str) {
            let len = utf16_len(description);
            if description.trim().is_empty() || len > MAX_COMMAND_DESCRIPTION_LEN {
                checks.reject(
                    format!("setMyCommands: commands[{i}].description must be 1-{MAX_COMMAND_DESCRIPTION_LEN} characters, is {len}"),
                    "BOT_COMMAND_DESCRIPTION_INVALID",
                );
            }
        }
    }
}

fn is_command_name(name: &str) -> bool {
    (1..=32).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

// ---------------------------------------------------------------------------
// Telegram HTML
// ---------------------------------------------------------------------------

/// A successfully parsed `parse_mode = "HTML"` text.
struct Html {
    /// The text as displayed: tags removed, entities decoded.
    text: String,
    /// Constructs Telegram accepts but silently mangles (a bare `&`, an unknown attribute,
    /// disallowed nesting, ...); almost always a bug in the sender.
    warnings: Vec<String>,
}

struct Tag {
    name: String,
    closing: bool,
    attributes: Vec<(String, Option<String>)>,
    /// Byte offset just past the closing `>`.
    end: usize,
}

/// Parses text the way the Bot API parses HTML; `Err` holds the reason Telegram gives
/// for refusing it.
fn parse_html(input: &str) -> Result<Html, String> {
    let mut text = String::new();
    let mut warnings = Vec::new();
    let mut open: Vec<String> = Vec::new();
    let mut pos = 0;
    while let Some(c) = input[pos..].chars().next() {
        match c {
            '<' => {
                let tag = read_tag(input, pos)?;
                if tag.closing {
                    match open.pop() {
                        Some(expected) if expected == tag.name => {}
                        Some(expected) => {
                            return Err(format!(
                                "Unmatched end tag at byte offset {pos}, expected \"</{expected}>\", found \"</{}>\"",
                                tag.name
                            ));
                        }
                        None => return Err(format!("Unexpected end tag \"</{}>\" at byte offset {pos}", tag.name)),
                    }
                } else {
                    check_start_tag(&tag, &open, pos, &mut warnings)?;
                    open.push(tag.name.clone());
                }
                pos = tag.end;
            }
            '&' => match decode_entity(&input[pos..]) {
                Some((decoded, len)) => {
                    text.push(decoded);
                    pos += len;
                }
                None => {
                    warnings.push(format!("unescaped '&' at byte offset {pos} (write &amp;)"));
                    text.push('&');
                    pos += 1;
                }
            },
            '>' => {
                warnings.push(format!("unescaped '>' at byte offset {pos} (write &gt;)"));
                text.push('>');
                pos += 1;
            }
            _ => {
                text.push(c);
                pos += c.len_utf8();
            }
        }
    }
    match open.last() {
        Some(tag) => Err(format!("Can't find end tag corresponding to start tag \"{tag}\"")),
        None => Ok(Html { text, warnings }),
    }
}

/// Reads the tag starting at `start` (which holds '<').
fn read_tag(input: &str, start: usize) -> Result<Tag, String> {
    let bytes = input.as_bytes();
    let is_name_byte = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b':');
    let skip_spaces = |mut i: usize| {
        while bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        i
    };
    let unclosed = || format!("Unclosed start tag at byte offset {start}");

    let mut i = start + 1;
    let closing = bytes.get(i) == Some(&b'/');
    if closing {
        i += 1;
    }
    let name_start = i;
    while bytes.get(i).is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'-') {
        i += 1;
    }
    if i == name_start {
        return Err(format!("Empty tag name at byte offset {start} (write &lt; for a literal '<')"));
    }
    let name = input[name_start..i].to_ascii_lowercase();
    let mut attributes = Vec::new();
    loop {
        i = skip_spaces(i);
        match bytes.get(i) {
            None => return Err(unclosed()),
            Some(b'>') => return Ok(Tag { name, closing, attributes, end: i + 1 }),
            Some(_) if closing => return Err(format!("Unexpected content in end tag at byte offset {start}")),
            Some(_) => {}
        }
        let attribute_start = i;
        while bytes.get(i).is_some_and(is_name_byte) {
            i += 1;
        }
        if i == attribute_start {
            return Err(format!("Unexpected character in tag at byte offset {i}"));
        }
        let attribute = input[attribute_start..i].to_ascii_lowercase();
        i = skip_spaces(i);
        if bytes.get(i) != Some(&b'=') {
            attributes.push((attribute, None));
            continue;
        }
        i = skip_spaces(i + 1);
        let value = match bytes.get(i) {
            Some(&quote @ (b'"' | b'\'')) => {
                let value_start = i + 1;
                let len = input[value_start..].find(char::from(quote)).ok_or_else(unclosed)?;
                i = value_start + len + 1;
                &input[value_start..value_start + len]
            }
            _ => {
                let value_start = i;
                while bytes.get(i).is_some_and(|b| !b.is_ascii_whitespace() && *b != b'>') {
                    i += 1;
                }
                &input[value_start..i]
            }
        };
        attributes.push((attribute, Some(decode_entities(value))));
    }
}

/// Enforces the Bot API's tag and nesting rules for an opening tag.
fn check_start_tag(tag: &Tag, open: &[String], offset: usize, warnings: &mut Vec<String>) -> Result<(), String> {
    let name = tag.name.as_str();
    let attribute = |key: &str| {
        tag.attributes.iter().find(|(k, _)| k == key).map(|(_, value)| value.as_deref().unwrap_or_default())
    };
    let allowed_attributes: &[&str] = match name {
        "b" | "strong" | "i" | "em" | "u" | "ins" | "s" | "strike" | "del" | "tg-spoiler" | "pre" => &[],
        "span" => {
            if attribute("class") != Some("tg-spoiler") {
                return Err(format!("Tag \"span\" must have class \"tg-spoiler\" at byte offset {offset}"));
            }
            &["class"]
        }
        "a" => {
            if attribute("href").is_none_or(str::is_empty) {
                warnings.push(format!("<a> without href at byte offset {offset}"));
            }
            &["href"]
        }
        "code" => {
            if let Some(class) = attribute("class")
                && !class.starts_with("language-")
            {
                warnings.push(format!("<code class={class:?}> at byte offset {offset}: only language-* is supported"));
            }
            &["class"]
        }
        "blockquote" => &["expandable"],
        "tg-emoji" => {
            if attribute("emoji-id").is_none_or(str::is_empty) {
                return Err(format!("Tag \"tg-emoji\" must have attribute \"emoji-id\" at byte offset {offset}"));
            }
            &["emoji-id"]
        }
        _ => return Err(format!("Unsupported start tag \"{name}\" at byte offset {offset}")),
    };
    for (key, _) in &tag.attributes {
        if !allowed_attributes.contains(&key.as_str()) {
            warnings.push(format!("unsupported attribute \"{key}\" in <{name}> at byte offset {offset}"));
        }
    }
    let inside = |outer: &str| open.iter().any(|o| o == outer);
    let misplaced = if inside("code") || inside("tg-emoji") {
        true
    } else if inside("pre") {
        // The only tag allowed in <pre> is a <code> naming the language.
        !(name == "code" && open.last().is_some_and(|parent| parent == "pre"))
    } else {
        (name == "a" && inside("a")) || (name == "blockquote" && inside("blockquote"))
    };
    if misplaced {
        let parents = open.join(">");
        warnings.push(format!("<{name}> at byte offset {offset} cannot be nested in {parents}"));
    }
    Ok(())
}

/// Decodes the entity at the start of `text` (which starts with '&'): the four named
/// entities Telegram supports and numeric ones. Returns the character and the entity's length.
fn decode_entity(text: &str) -> Option<(char, usize)> {
    // Entities are short; looking further would make long texts quadratic.
    let len = text.bytes().skip(1).take(12).position(|b| b == b';')?;
    let body = &text[1..1 + len];
    let decoded = match body {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "quot" => '"',
        _ => {
            let number = body.strip_prefix('#')?;
            let code = match number.strip_prefix(['x', 'X']) {
                Some(hex) if !hex.is_empty() && hex.len() <= 6 && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
                    u32::from_str_radix(hex, 16).ok()?
                }
                Some(_) => return None,
                None if !number.is_empty() && number.len() <= 7 && number.bytes().all(|b| b.is_ascii_digit()) => {
                    number.parse().ok()?
                }
                None => return None,
            };
            char::from_u32(code)?
        }
    };
    Some((decoded, len + 2))
}

/// Decodes entities in an attribute value, keeping anything that isn't one as is.
fn decode_entities(text: &str) -> String {
    let mut decoded = String::with_capacity(text.len());
    let mut pos = 0;
    while let Some(c) = text[pos..].chars().next() {
        match (c, decode_entity(&text[pos..])) {
            ('&', Some((entity, len))) => {
                decoded.push(entity);
                pos += len;
            }
            _ => {
                decoded.push(c);
                pos += c.len_utf8();
            }
        }
    }
    decoded
}

// ---------------------------------------------------------------------------
// Tests of the fake itself
// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use floorbot::clock::ManualClock;

    const TOKEN: &str = "7000000001:fake-token-for-the-fake";
    const PRIVATE: i64 = 4242;
    const GROUP: i64 = -1_001_234_567_890;

    async fn start() -> (FakeTelegram, ManualClock) {
        let start = Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).single().expect("valid start time");
        let clock = ManualClock::new(start);
        (FakeTelegram::start_with_clock(Arc::new(clock.clone())).await, clock)
    }

    async fn call(telegram: &FakeTelegram, method: &str, body: Value) -> (u16, Value) {
        let response = reqwest::Client::new()
            .post(format!("{}/bot{TOKEN}/{method}", telegram.api_url()))
            .json(&body)
            .send()
            .await
            .expect("the fake answers");
        let status = response.status().as_u16();
        (status, response.json().await.expect("a JSON answer"))
    }

    async fn send(telegram: &FakeTelegram, chat_id: i64, text: &str) -> (u16, Value) {
        call(telegram, "sendMessage", json!({ "chat_id": chat_id, "text": text })).await
    }

    fn keyboard_json(data: &str) -> Value {
        json!({ "inline_keyboard": [[{ "text": "Ack", "callback_data": data }]] })
    }

    fn millis(ms: i64) -> chrono::Duration {
        chrono::Duration::milliseconds(ms)
    }

    #[tokio::test]
    async fn a_chat_gets_a_burst_of_five_then_one_message_a_second() {
        let (telegram, clock) = start().await;
        for i in 0..5 {
            assert_eq!(send(&telegram, PRIVATE, &format!("m{i}")).await.0, 200, "message {i} is within the burst");
        }
        let (status, body) = send(&telegram, PRIVATE, "one too many").await;
        assert_eq!(status, 429);
        assert_eq!(
            body,
            json!({
                "ok": false,
                "error_code": 429,
                "description": "Too Many Requests: retry after 1",
                "parameters": { "retry_after": 1 },
            })
        );
        assert_eq!(telegram.too_many_requests(), 1);
        assert_eq!(telegram.too_many_requests_in(PRIVATE), 1);
        assert_eq!(telegram.too_many_requests_in(PRIVATE + 1), 0);
        assert_eq!(telegram.violations(), vec![format!("sendMessage to {PRIVATE}: over Telegram's rate limit")]);
        assert_eq!(telegram.failed_requests().len(), 1);
        assert_eq!(telegram.sends_and_edits_in(PRIVATE), 5);

        // Another chat has its own budget.
        assert_eq!(send(&telegram, PRIVATE + 1, "elsewhere").await.0, 200);
        // The slack lets the sixth through half a second early.
        clock.advance(millis(499));
        assert_eq!(send(&telegram, PRIVATE, "still too early").await.0, 429);
        clock.advance(millis(1));
        assert_eq!(send(&telegram, PRIVATE, "now").await.0, 200);
        assert_eq!(send(&telegram, PRIVATE, "and not again").await.0, 429);
        clock.advance(millis(1000));
        assert_eq!(send(&telegram, PRIVATE, "a second later").await.0, 200);
        assert_eq!(telegram.too_many_requests_in(PRIVATE), 3);
    }

    #[tokio::test]
    async fn a_group_gets_twenty_messages_a_minute_and_everyone_thirty_a_second() {
        let (telegram, clock) = start().await;
        // Without slack, bursts are exact (half a second of slack is fifteen more global requests).
        let loose_chats = RateLimits {
            per_chat_per_second: 1000.0,
            per_chat_burst: 1000,
            slack: Duration::ZERO,
            ..RateLimits::default()
        };
        telegram.set_limits(Some(loose_chats));
        for i in 0..20 {
            assert_eq!(send(&telegram, GROUP, &format!("g{i}")).await.0, 200, "group message {i}");
        }
        let (status, body) = send(&telegram, GROUP, "21st").await;
        assert_eq!(status, 429);
        // One every 3 s.
        assert_eq!(body["parameters"]["retry_after"], json!(3));
        // Private chats have no group budget.
        for i in 0..9 {
            assert_eq!(send(&telegram, PRIVATE, &format!("p{i}")).await.0, 200, "private message {i}");
        }
        // 29 sent: one left in the global burst, for any chat.
        assert_eq!(send(&telegram, PRIVATE + 1, "30th").await.0, 200);
        let (status, body) = send(&telegram, PRIVATE + 2, "31st").await;
        assert_eq!(status, 429);
        assert_eq!(body["parameters"]["retry_after"], json!(1));
        assert_eq!(telegram.too_many_requests(), 2);
        assert_eq!(telegram.too_many_requests_in(PRIVATE + 2), 1);

        clock.advance(millis(2999));
        assert_eq!(send(&telegram, GROUP, "too early").await.0, 429);
        clock.advance(millis(1));
        assert_eq!(send(&telegram, GROUP, "after the wait").await.0, 200);
    }

    #[tokio::test]
    async fn a_refused_request_charges_nothing_and_changes_nothing() {
        let (telegram, clock) = start().await;
        telegram.set_limits(Some(RateLimits { per_chat_burst: 2, ..RateLimits::default() }));
        let (_, sent) = send(&telegram, PRIVATE, "first").await;
        let message_id = sent["result"]["message_id"].as_i64().expect("a message id");
        let edit = |text: &str| json!({ "chat_id": PRIVATE, "message_id": message_id, "text": text });
        assert_eq!(call(&telegram, "editMessageText", edit("second")).await.0, 200);
        let (status, _) = call(&telegram, "editMessageText", edit("third")).await;
        assert_eq!(status, 429);
        assert_eq!(telegram.message(PRIVATE, message_id).expect("stored")["text"], json!("second"));

        // Injected failures win over the limits and are not counted as 429s from them.
        telegram.fail_next("editMessageText", 500, "Internal Server Error", None);
        assert_eq!(call(&telegram, "editMessageText", edit("third")).await.0, 500);
        // Methods that neither send nor edit are free.
        for _ in 0..10 {
            assert_eq!(call(&telegram, "getMe", json!({})).await.0, 200);
            let answer = json!({ "callback_query_id": "cbq-1" });
            assert_eq!(call(&telegram, "answerCallbackQuery", answer).await.0, 200);
        }
        assert_eq!(telegram.too_many_requests(), 1);

        // Without limits anything goes; budgets used before stay used.
        telegram.set_limits(None);
        for i in 0..10 {
            assert_eq!(send(&telegram, PRIVATE, &format!("unlimited {i}")).await.0, 200);
        }
        telegram.set_limits(Some(RateLimits::default()));
        clock.advance(millis(500));
        assert_eq!(send(&telegram, PRIVATE, "limited again").await.0, 200);
        assert_eq!(telegram.too_many_requests(), 1);
    }

    #[tokio::test]
    async fn an_edit_that_changes_nothing_is_refused_as_not_modified() {
        let (telegram, _clock) = start().await;
        telegram.set_limits(Some(RateLimits { per_chat_burst: 3, ..RateLimits::default() }));
        let text = "<b>Store down</b> &amp; nobody on it";
        let sent =
            json!({ "chat_id": PRIVATE, "text": text, "parse_mode": "HTML", "reply_markup": keyboard_json("ack:1") });
        let (_, sent) = call(&telegram, "sendMessage", sent).await;
        let message_id = sent["result"]["message_id"].as_i64().expect("a message id");
        let edit = |text: &str, markup: Option<Value>| {
            let mut body = json!({ "chat_id": PRIVATE, "message_id": message_id, "text": text, "parse_mode": "HTML" });
            if let Some(markup) = markup {
                body["reply_markup"] = markup;
            }
            body
        };

        let (status, body) = call(&telegram, "editMessageText", edit(text, Some(keyboard_json("ack:1")))).await;
        assert_eq!(status, 400);
        assert_eq!(body["description"], json!(format!("Bad Request: {NOT_MODIFIED}")));
        assert_eq!(
            telegram.violations(),
            vec![format!("editMessageText in {PRIVATE}/{message_id}: message is not modified")]
        );
        let markup_only =
            json!({ "chat_id": PRIVATE, "message_id": message_id, "reply_markup": keyboard_json("ack:1") });
        assert_eq!(call(&telegram, "editMessageReplyMarkup", markup_only).await.0, 400);
        // Neither refusal used the budget: two more changes still fit in the burst of three.
        let same_text_other_markup = edit(text, Some(keyboard_json("ack:2")));
        assert_eq!(call(&telegram, "editMessageText", same_text_other_markup.clone()).await.0, 200);
        assert_eq!(call(&telegram, "editMessageText", same_text_other_markup).await.0, 400);
        // The same rendered text from another source is a change as far as the fake can tell;
        // so is dropping the keyboard.
        let same_rendering = "<i>Store down</i> &amp; nobody on it";
        assert_eq!(call(&telegram, "editMessageText", edit(same_rendering, Some(keyboard_json("ack:2")))).await.0, 200);
        assert_eq!(telegram.message(PRIVATE, message_id).expect("stored")["text"], json!("Store down & nobody on it"));
        assert_eq!(telegram.too_many_requests(), 0);
        telegram.set_limits(None);
        assert_eq!(call(&telegram, "editMessageText", edit(same_rendering, None)).await.0, 200);
        // An empty keyboard is no keyboard.
        let empty = json!({ "inline_keyboard": [] });
        assert_eq!(call(&telegram, "editMessageText", edit(same_rendering, Some(empty))).await.0, 400);

        // Messages the fake did not see being sent are not judged.
        let unknown = json!({ "chat_id": PRIVATE, "message_id": 9999, "text": "x" });
        assert_eq!(call(&telegram, "editMessageText", unknown.clone()).await.0, 200);
        assert_eq!(call(&telegram, "editMessageText", unknown).await.0, 200);

        let edits = telegram.edits_of(PRIVATE, message_id);
        assert_eq!(edits.iter().map(|r| r.method.as_str()).collect::<Vec<_>>(), ["editMessageText"; 3]);
        assert_eq!(edits[0].body["reply_markup"], keyboard_json("ack:2"));
        assert_eq!(telegram.sends_and_edits_in(PRIVATE), 6);
        assert_eq!(telegram.violations().len(), 4);
    }

    #[tokio::test]
    async fn a_caption_edit_is_compared_with_the_caption() {
        let (telegram, _clock) = start().await;
        let sent = json!({ "chat_id": GROUP, "photo": "file-1", "caption": "Shelf 3" });
        let (_, sent) = call(&telegram, "sendPhoto", sent).await;
        let message_id = sent["result"]["message_id"].as_i64().expect("a message id");
        let edit = |caption: &str| json!({ "chat_id": GROUP, "message_id": message_id, "caption": caption });
        assert_eq!(call(&telegram, "editMessageCaption", edit("Shelf 3")).await.0, 400);
        assert_eq!(call(&telegram, "editMessageCaption", edit("Shelf 4")).await.0, 200);
        assert_eq!(call(&telegram, "editMessageCaption", edit("Shelf 4")).await.0, 400);
        // A deleted message is forgotten.
        let delete = json!({ "chat_id": GROUP, "message_id": message_id });
        assert_eq!(call(&telegram, "deleteMessage", delete).await.0, 200);
        assert_eq!(call(&telegram, "editMessageCaption", edit("Shelf 4")).await.0, 200);
        assert_eq!(telegram.edits_of(GROUP, message_id).len(), 2);
    }
}
