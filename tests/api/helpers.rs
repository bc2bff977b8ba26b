//! `spawn_app()`: the real floorbot (the same `App::run` that `floorbot run` uses) against a
//! fake Telegram on 127.0.0.1, a fresh SQLite file and a settable clock; plus helpers to speak
//! as named people in named chats and to read what the bot sent.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chrono::{TimeZone, Utc};
use floorbot::clock::ManualClock;
use floorbot::config::{Config, Sources};
use floorbot::telegram::outbox::RetryPolicy;
use floorbot::{App, Edges};
use serde_json::Value;
use sqlx::SqlitePool;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::fake_telegram::{self, FakeTelegram, Recorded};

/// A bot token of the real shape, so that leaks would be recognisable.
pub const TOKEN: &str = "7000000001:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawQ";
/// How long a test waits for the bot before failing.
pub const WAIT: Duration = Duration::from_secs(10);

/// Someone who talks to the bot.
#[derive(Clone, Copy, Debug)]
pub struct Person {
    pub id: i64,
    pub first_name: &'static str,
    pub username: Option<&'static str>,
}

impl Person {
    pub fn json(&self) -> Value {
        fake_telegram::user_json(self.id, self.first_name, self.username, Some("zh-hans"))
    }
}

pub const SAM: Person = Person { id: 1001, first_name: "Sam", username: Some("sam_supervisor") };
pub const SUE: Person = Person { id: 1002, first_name: "Sue", username: Some("sue_backup") };
pub const ALICE: Person = Person { id: 2001, first_name: "Alice", username: Some("alice_cs") };
pub const BOB: Person = Person { id: 2002, first_name: "Bob", username: None };
pub const OLGA: Person = Person { id: 3001, first_name: "Olga", username: Some("olga_ops") };
pub const TOM: Person = Person { id: 2003, first_name: "<b>Tom & \"Jerry\"</b>", username: None };

/// A group chat.
#[derive(Clone, Copy, Debug)]
pub struct Group {
    pub id: i64,
    pub title: &'static str,
    pub supergroup: bool,
}

impl Group {
    pub fn json(&self) -> Value {
        if self.supergroup {
            fake_telegram::supergroup_chat_json(self.id, self.title)
        } else {
            fake_telegram::group_chat_json(self.id, self.title)
        }
    }
}

pub const TEAM_GROUP: Group = Group { id: -1_001_000_000_001, title: "天猫一组", supergroup: true };
pub const OPS_GROUP: Group = Group { id: -1_001_000_000_002, title: "跨部门沟通群", supergroup: true };
pub const OTHER_GROUP: Group = Group { id: -1_001_000_000_003, title: "闲聊群", supergroup: true };
pub const BASIC_GROUP: Group = Group { id: -4_000_000_001, title: "京东组", supergroup: false };

/// Where someone speaks.
#[derive(Clone, Copy, Debug)]
pub enum Chat {
    Group(Group),
    Private,
}

pub struct TestApp {
    pub telegram: FakeTelegram,
    pub clock: ManualClock,
    /// A second pool on the same database, to check what was stored.
    pub db: SqlitePool,
    pub database_url: String,
    shutdown: CancellationToken,
    task: Option<JoinHandle<anyhow::Result<()>>>,
    /// Index into the recorded requests: everything before it has been looked at.
    seen: AtomicUsize,
    messages: Mutex<HashMap<i64, i64>>,
    _directory: tempfile::TempDir,
}

/// The configuration most tests use: Sam is the supervisor.
pub const DEFAULT_CONFIG: &str = "supervisors = [1001]\n";

pub async fn spawn_app() -> TestApp {
    spawn_app_with(DEFAULT_CONFIG).await
}

pub async fn spawn_app_with(config_toml: &str) -> TestApp {
    let directory = tempfile::tempdir().expect("temp dir");
    let database_url = format!("sqlite://{}", directory.path().join("floorbot.db").display());
    let telegram = FakeTelegram::start().await;
    for group in [TEAM_GROUP, OPS_GROUP, OTHER_GROUP, BASIC_GROUP] {
        telegram.remember_chat(group.json());
    }
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).single().expect("valid start time"));
    let app = build_app(&telegram, config_toml, &database_url, &clock).await;
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(app.run(shutdown.clone()));
    let db = floorbot::db::connect(&database_url).await.expect("inspection pool");
    let test = TestApp {
        telegram,
        clock,
        db,
        database_url,
        shutdown,
        task: Some(task),
        seen: AtomicUsize::new(0),
        messages: Mutex::new(HashMap::new()),
        _directory: directory,
    };
    test.wait_until_polling().await;
    test
}

pub fn test_config(config_toml: &str, api_url: &str, database_url: &str) -> Config {
    let mut env = HashMap::new();
    env.insert("TELOXIDE_TOKEN".to_owned(), TOKEN.to_owned());
    env.insert("TELOXIDE_API_URL".to_owned(), api_url.to_owned());
    env.insert("FLOORBOT_DATABASE_URL".to_owned(), database_url.to_owned());
    let lookup = move |name: &str| env.get(name).cloned();
    Config::from_parts(Some(config_toml), None, &Sources { config_flag: None, env: &lookup })
        .expect("test config is valid")
}

async fn build_app(telegram: &FakeTelegram, config_toml: &str, database_url: &str, clock: &ManualClock) -> App {
    let config = test_config(config_toml, &telegram.api_url(), database_url);
    let edges = Edges {
        clock: std::sync::Arc::new(clock.clone()),
        poll_timeout: Duration::from_secs(1),
        poll_backoff_cap: Duration::from_millis(300),
        retry: RetryPolicy {
            attempts: 5,
            first_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_millis(400),
        },
    };
    App::build(config, edges).await.expect("app builds")
}

impl TestApp {
    async fn wait_until_polling(&self) {
        let started = std::time::Instant::now();
        while self.telegram.get_updates_calls() == 0 {
            assert!(started.elapsed() < WAIT, "the bot never polled for updates");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    fn next_message_id(&self, chat_id: i64) -> i64 {
        self.telegram.next_message_id(chat_id)
    }

    fn chat_json(&self, who: &Person, chat: Chat) -> Value {
        match chat {
            Chat::Group(group) => group.json(),
            Chat::Private => fake_telegram::private_chat_json(&who.json()),
        }
    }

    /// `who` writes `text` in `chat`. Returns the message as Telegram would show it.
    pub fn say(&self, who: &Person, chat: Chat, text: &str) -> Value {
        self.say_replying(who, chat, text, None)
    }

    /// `who` replies to `replied` (a message Value) with `text`.
    pub fn say_replying(&self, who: &Person, chat: Chat, text: &str, replied: Option<&Value>) -> Value {
        let chat_json = self.chat_json(who, chat);
        let chat_id = chat_json["id"].as_i64().expect("chat id");
        let message_id = self.next_message_id(chat_id);
        let update = fake_telegram::text_message_update(message_id, &chat_json, &who.json(), text, replied);
        self.telegram.push_update(update.clone());
        update["message"].clone()
    }

    /// Pushes a raw update.
    pub fn push(&self, update: Value) {
        self.telegram.push_update(update);
    }

    /// The next message the bot sends to `chat_id` (after those already looked at).
    pub async fn next_message_to(&self, chat_id: i64) -> Recorded {
        self.next_message_within(chat_id, WAIT).await
    }

    /// Like [`Self::next_message_to`], waiting up to `timeout`.
    pub async fn next_message_within(&self, chat_id: i64, timeout: Duration) -> Recorded {
        let from = self.seen.load(Ordering::SeqCst);
        let found = self
            .telegram
            .wait_for(from, timeout, |recorded| {
                recorded.method == "sendMessage" && recorded.body["chat_id"].as_i64() == Some(chat_id)
            })
            .await;
        let Some(found) = found else {
            panic!("the bot sent nothing to {chat_id}; everything it sent: {:#?}", self.telegram.requests())
        };
        // Move the cursor past this message so the next call finds the following one.
        let index = self
            .telegram
            .requests()
            .iter()
            .enumerate()
            .skip(from)
            .find(|(_, recorded)| {
                recorded.method == found.method && recorded.body == found.body && recorded.result == found.result
            })
            .map(|(index, _)| index)
            .expect("found message is recorded");
        self.seen.store(index + 1, Ordering::SeqCst);
        found
    }

    /// The text of the next message to `chat_id`.
    pub async fn next_text_to(&self, chat_id: i64) -> String {
        text_of(&self.next_message_to(chat_id).await)
    }

    /// The next message to a group.
    pub async fn reply_in(&self, group: Group) -> String {
        self.next_text_to(group.id).await
    }

    /// The next message to a person's private chat.
    pub async fn reply_to_private(&self, person: &Person) -> String {
        self.next_text_to(person.id).await
    }

    /// Asserts the bot answered nothing in `chat` to what was said so far: a `/start` probe is
    /// sent after it, and its answer must be the next message there (updates in one chat are
    /// handled in order).
    pub async fn assert_silent_in(&self, who: &Person, group: Group) {
        self.say(who, Chat::Group(group), "/start");
        let next = self.next_text_to(group.id).await;
        let start_answers = ["本群", "This group", "This is the"];
        assert!(
            start_answers.iter().any(|prefix| next.contains(prefix)),
            "expected only the /start answer, got: {next}"
        );
    }

    /// Waits until `count_query` (a `SELECT COUNT(*) …`) finds at least one row: for effects
    /// of updates handled in another chat, which run concurrently with this one.
    pub async fn wait_for_row(&self, count_query: &'static str) {
        let started = std::time::Instant::now();
        loop {
            let count: i64 = sqlx::query_scalar(count_query).fetch_one(&self.db).await.expect("count query runs");
            if count > 0 {
                return;
            }
            assert!(started.elapsed() < WAIT, "no row for: {count_query}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Everything sent with `method`.
    pub fn sent(&self, method: &str) -> Vec<Recorded> {
        self.telegram.requests_for(method)
    }

    /// Stops the bot and the fake, and checks that every request the bot made was valid.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            let result = tokio::time::timeout(WAIT, task).await.expect("bot stops in time").expect("bot task joins");
            result.expect("bot ran without error");
        }
        let violations = self.telegram.violations();
        assert!(violations.is_empty(), "Bot API spec violations: {violations:#?}");
        self.telegram.stop().await;
    }

    /// Stops the bot (as a restart would) and starts a new one on the same database and fake.
    pub async fn restart(&mut self, config_toml: &str) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(WAIT, task).await;
        }
        let app = build_app(&self.telegram, config_toml, &self.database_url, &self.clock).await;
        self.shutdown = CancellationToken::new();
        self.task = Some(tokio::spawn(app.run(self.shutdown.clone())));
    }

    /// Binds a group as Sam (the configured supervisor) and consumes the confirmation.
    pub async fn bind_team(&self, group: Group, name: &str) {
        self.say(&SAM, Chat::Group(group), &format!("/bind team {name}"));
        let reply = self.reply_in(group).await;
        assert!(reply.contains(name), "binding failed: {reply}");
    }

    pub async fn bind_ops(&self, group: Group) {
        self.say(&SAM, Chat::Group(group), "/bind ops");
        let reply = self.reply_in(group).await;
        assert!(reply.contains("跨部门沟通群"), "binding failed: {reply}");
    }
}

/// The `text` field of a recorded send or edit.
pub fn text_of(recorded: &Recorded) -> String {
    recorded.body["text"].as_str().unwrap_or_default().to_owned()
}
