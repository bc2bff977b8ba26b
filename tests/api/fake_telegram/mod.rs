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
//!
//! This file holds what tests name: [`FakeTelegram`] (started and stopped here, driven through
//! the methods in `controls`), [`Recorded`], [`Failure`], [`RateLimits`], and the JSON builders
//! for the updates tests push.

mod answers;
mod checks;
mod controls;
mod decode;
mod edits;
mod html;
mod limits;
mod server;
mod spec;
mod state;
#[cfg(test)]
mod test_client;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use floorbot::clock::{Clock, SystemClock};
use serde_json::{Value, json};
use tokio::sync::{Notify, oneshot};
use tokio::task::JoinHandle;

use server::handle;
use spec::Spec;
use state::{FakeState, Shared};

/// User id of the bot the fake impersonates.
const BOT_ID: i64 = 7_000_000_001;

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
