//! `spawn_app()`: the real floorbot (the same `App::run` that `floorbot run` uses) against a
//! fake Telegram on 127.0.0.1, a fresh SQLite file and a settable clock; plus helpers to speak
//! as named people in named chats and to read what the bot sent.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use floorbot::clock::{Clock, ManualClock};
use floorbot::config::{Config, Sources};
use floorbot::domain::retry::Backoff;
use floorbot::{App, Edges};
use serde_json::Value;
use sqlx::SqlitePool;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::fake_phone::FakePhone;
use crate::fake_telegram::{self, FakeTelegram, Recorded};

/// Twilio credentials the fake phone provider expects.
pub const TWILIO_SID: &str = "AC0123456789abcdef0123456789abcdef";
pub const TWILIO_TOKEN: &str = "twilio-auth-token-for-tests";
pub const TWILIO_FROM: &str = "+14155550100";
/// Registered numbers of the supervisors in tests.
pub const SAM_PHONE: &str = "+8613800138001";
pub const SUE_PHONE: &str = "+8613800138002";

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
    /// The bot's outbound lane, to see what waits for a chat's budget.
    pub lane: floorbot::telegram::lane::Lane,
    pub telegram: FakeTelegram,
    /// The fake phone provider, when the app was started with one.
    pub phone: Option<FakePhone>,
    pub clock: ManualClock,
    /// A second pool on the same database, to check what was stored.
    pub db: SqlitePool,
    pub database_url: String,
    phone_url: Option<String>,
    shutdown: CancellationToken,
    task: Option<JoinHandle<anyhow::Result<()>>>,
    /// How often the job runner woke up (shared across restarts).
    pub runner_wakeups: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// Per chat: the index into the recorded requests from which to look for its next message.
    cursors: Mutex<HashMap<i64, usize>>,
    _directory: tempfile::TempDir,
}

/// The configuration most tests use: Sam is the supervisor.
pub const DEFAULT_CONFIG: &str = "supervisors = [1001]\n";

pub async fn spawn_app() -> TestApp {
    spawn_app_with(DEFAULT_CONFIG).await
}

pub async fn spawn_app_with(config_toml: &str) -> TestApp {
    spawn(config_toml, false).await
}

/// An app whose phone calls go to a fake Twilio.
pub async fn spawn_app_with_phone(config_toml: &str) -> TestApp {
    spawn(config_toml, true).await
}

async fn spawn(config_toml: &str, with_phone: bool) -> TestApp {
    // Logs only on request (FLOORBOT_TEST_LOG=debug), to read a failing test.
    if let Ok(filter) = std::env::var("FLOORBOT_TEST_LOG") {
        let _ = tracing_subscriber::fmt().with_env_filter(filter).with_test_writer().try_init();
    }
    let directory = tempfile::tempdir().expect("temp dir");
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).single().expect("valid start time"));
    // The fakes read the same clock: Telegram's budgets and Twilio's timestamps move with it.
    let shared_clock: std::sync::Arc<dyn Clock> = std::sync::Arc::new(clock.clone());
    let phone = if with_phone {
        Some(FakePhone::start_with_clock(TWILIO_SID, TWILIO_TOKEN, std::sync::Arc::clone(&shared_clock)).await)
    } else {
        None
    };
    let phone_url = phone.as_ref().map(FakePhone::base_url);
    // A configuration may point at the fake phone provider by writing `{phone}`.
    let config_toml = &match &phone_url {
        Some(url) => config_toml.replace("{phone}", url),
        None => config_toml.to_owned(),
    };
    let database_url = format!("sqlite://{}", directory.path().join("floorbot.db").display());
    let telegram = FakeTelegram::start_with_clock(shared_clock).await;
    for group in [TEAM_GROUP, OPS_GROUP, OTHER_GROUP, BASIC_GROUP] {
        telegram.remember_chat(group.json());
    }
    let runner_wakeups = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let app = build_app(&telegram, config_toml, &database_url, &clock, phone_url.as_deref(), &runner_wakeups).await;
    let shutdown = CancellationToken::new();
    let lane = app.lane();
    let task = tokio::spawn(app.run(shutdown.clone()));
    let db = floorbot::db::connect(&database_url).await.expect("inspection pool");
    let test = TestApp {
        lane,
        telegram,
        phone,
        phone_url,
        clock,
        db,
        database_url,
        shutdown,
        task: Some(task),
        cursors: Mutex::new(HashMap::new()),
        runner_wakeups,
        _directory: directory,
    };
    test.wait_until_polling().await;
    test
}

pub fn test_config(config_toml: &str, api_url: &str, database_url: &str, phone_url: Option<&str>) -> Config {
    let mut env = HashMap::new();
    if let Some(phone_url) = phone_url {
        env.insert("TWILIO_ACCOUNT_SID".to_owned(), TWILIO_SID.to_owned());
        env.insert("TWILIO_AUTH_TOKEN".to_owned(), TWILIO_TOKEN.to_owned());
        env.insert("TWILIO_FROM_NUMBER".to_owned(), TWILIO_FROM.to_owned());
        env.insert("TWILIO_API_URL".to_owned(), phone_url.to_owned());
    }
    env.insert("TELOXIDE_TOKEN".to_owned(), TOKEN.to_owned());
    env.insert("TELOXIDE_API_URL".to_owned(), api_url.to_owned());
    env.insert("FLOORBOT_DATABASE_URL".to_owned(), database_url.to_owned());
    let lookup = move |name: &str| env.get(name).cloned();
    Config::from_parts(Some(config_toml), None, &Sources { config_flag: None, env: &lookup })
        .expect("test config is valid")
}

async fn build_app(
    telegram: &FakeTelegram,
    config_toml: &str,
    database_url: &str,
    clock: &ManualClock,
    phone_url: Option<&str>,
    runner_wakeups: &std::sync::Arc<std::sync::atomic::AtomicU64>,
) -> App {
    let config = test_config(config_toml, &telegram.api_url(), database_url, phone_url);
    let edges = Edges {
        clock: std::sync::Arc::new(clock.clone()),
        poll_timeout: Duration::from_secs(1),
        retry: Backoff { attempts: 5, first: Duration::from_millis(50), max: Duration::from_millis(400) },
        runner_wakeups: std::sync::Arc::clone(runner_wakeups),
        // A test stops once it has seen what it looked for; replies still queued go quickly.
        shutdown_grace: Duration::from_millis(200),
    };
    App::build(config, edges).await.expect("app builds")
}

impl TestApp {
    async fn wait_until_polling(&self) {
        eventually("the bot to poll for updates", || async { (self.telegram.get_updates_calls() > 0).then_some(()) })
            .await
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

    /// Like [`Self::next_message_to`], waiting up to `timeout`. Each chat has its own cursor,
    /// so reading one chat never skips another chat's messages.
    pub async fn next_message_within(&self, chat_id: i64, timeout: Duration) -> Recorded {
        let from = self.cursors.lock().expect("cursor lock").get(&chat_id).copied().unwrap_or(0);
        let is_message_to = |recorded: &Recorded| {
            recorded.method == "sendMessage" && recorded.body["chat_id"].as_i64() == Some(chat_id)
        };
        if self.telegram.wait_for(from, timeout, is_message_to).await.is_none() {
            panic!("the bot sent nothing to {chat_id}; everything it sent: {:#?}", self.telegram.requests())
        }
        let requests = self.telegram.requests();
        let (index, found) = requests
            .iter()
            .enumerate()
            .skip(from)
            .find(|(_, recorded)| is_message_to(recorded))
            .map(|(index, recorded)| (index, recorded.clone()))
            .expect("the awaited message is recorded");
        self.cursors.lock().expect("cursor lock").insert(chat_id, index + 1);
        found
    }

    /// The next message to `chat_id` while the clock moves on a second at a time: for replies
    /// that wait out a retry or a `retry_after` on the bot's clock.
    pub async fn next_message_as_time_passes(&self, chat_id: i64) -> Recorded {
        let from = self.cursors.lock().expect("cursor lock").get(&chat_id).copied().unwrap_or(0);
        let is_message_to = |recorded: &Recorded| {
            recorded.method == "sendMessage" && recorded.body["chat_id"].as_i64() == Some(chat_id)
        };
        let started = std::time::Instant::now();
        while self.telegram.wait_for(from, Duration::from_millis(100), is_message_to).await.is_none() {
            assert!(started.elapsed() < WAIT * 3, "the bot sent nothing to {chat_id} as time passed");
            self.clock.advance(chrono::Duration::seconds(1));
        }
        self.next_message_to(chat_id).await
    }

    /// Lets the bot's clock move on a second at a time until it has polled `count` times in
    /// all: polling that failed waits on that clock before it tries again.
    pub async fn polls_as_time_passes(&self, count: usize) {
        eventually(&format!("{count} getUpdates calls"), || async {
            if self.telegram.get_updates_calls() >= count {
                return Some(());
            }
            self.clock.advance(chrono::Duration::seconds(1));
            tokio::time::sleep(Duration::from_millis(20)).await;
            None
        })
        .await
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
        self.wait_for_count(count_query, 1).await
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
        if let Some(phone) = self.phone.take() {
            let violations = phone.violations();
            assert!(violations.is_empty(), "Twilio API spec violations: {violations:#?}");
            phone.stop().await;
        }
    }

    /// Stops the bot and leaves it stopped (the fakes keep running), as if it were down.
    pub async fn stop_only(&mut self) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(WAIT, task).await;
        }
    }

    /// Stops the bot (as a restart would) and starts a new one on the same database and fake.
    pub async fn restart(&mut self, config_toml: &str) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(WAIT, task).await;
        }
        let app = build_app(
            &self.telegram,
            config_toml,
            &self.database_url,
            &self.clock,
            self.phone_url.as_deref(),
            &self.runner_wakeups,
        )
        .await;
        self.shutdown = CancellationToken::new();
        self.lane = app.lane();
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

/// Waits until `check` yields a value, polling; fails the test after [`WAIT`], naming `what`.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let started = std::time::Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(started.elapsed() < WAIT, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A call waiting for the same person's ringing call is not due yet, whatever its time.
const NOT_BEHIND_A_RINGING_CALL: &str = "NOT (kind = 'call' AND EXISTS (SELECT 1 FROM jobs AS active
    WHERE active.kind = 'call' AND active.person_id = jobs.person_id AND active.state = 'ringing'))";

impl TestApp {
    /// A few seconds pass, as they do between two people's taps on a real floor: enough for
    /// a chat's Telegram budget and the spacing between edits of one message to allow the
    /// next one.
    pub async fn moment(&self) {
        self.advance(chrono::Duration::seconds(3)).await;
    }

    /// The text a message shows now (edits applied).
    pub fn shown(&self, chat_id: i64, message_id: i64) -> String {
        self.telegram
            .message(chat_id, message_id)
            .and_then(|message| message["text"].as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    /// Waits until a message shows `needle`, letting a few seconds pass first so that an edit
    /// held back by the spacing between edits may go.
    pub async fn wait_until_shown(&self, chat_id: i64, message_id: i64, needle: &str) -> String {
        self.moment().await;
        eventually(&format!("message {message_id} in {chat_id} to show {needle:?}"), || async {
            let text = self.shown(chat_id, message_id);
            text.contains(needle).then_some(text)
        })
        .await
    }

    /// Moves the clock forward and waits until the job runner has taken every job that
    /// became due (they may still be running: [`Self::settle`] waits for them too).
    pub async fn advance(&self, by: chrono::Duration) {
        self.clock.advance(by);
        let now = self.clock.now();
        eventually(&format!("the runner to take the jobs due at {now}"), || async {
            let due: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT COUNT(*) FROM jobs WHERE state = 'pending' AND due_at <= ?1 AND {NOT_BEHIND_A_RINGING_CALL}"
            )))
            .bind(now)
            .fetch_one(&self.db)
            .await
            .expect("count runs");
            (due == 0).then_some(())
        })
        .await
    }

    pub fn phone(&self) -> &FakePhone {
        self.phone.as_ref().expect("started with a phone provider")
    }

    /// The person clicks the button whose callback data is `data` on `message` (a sent Message).
    pub fn click(&self, who: &Person, message: &Value, data: &str) {
        self.telegram.push_update(fake_telegram::callback_update(&who.json(), message, data));
    }

    /// Waits until the rows counted by `count_query` reach `expected`.
    pub async fn wait_for_count(&self, count_query: &'static str, expected: i64) {
        eventually(&format!("{count_query} to reach {expected}"), || async {
            let count: i64 = sqlx::query_scalar(count_query).fetch_one(&self.db).await.expect("count query runs");
            (count >= expected).then_some(())
        })
        .await
    }

    /// Waits until the job runner has nothing due left (every due job claimed and finished;
    /// calls waiting for the same person's ringing call do not count).
    pub async fn settle(&self) {
        let started = std::time::Instant::now();
        loop {
            let now = self.clock.now();
            let busy: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT COUNT(*) FROM jobs WHERE (state = 'pending' AND due_at <= ?1 AND {NOT_BEHIND_A_RINGING_CALL})
                 OR state IN ('running', 'placing')"
            )))
            .bind(now)
            .fetch_one(&self.db)
            .await
            .expect("count runs");
            if busy == 0 {
                tokio::time::sleep(Duration::from_millis(30)).await;
                return;
            }
            if started.elapsed() > WAIT {
                let jobs: Vec<(i64, String, String, String)> =
                    sqlx::query_as("SELECT id, kind, state, due_at FROM jobs ORDER BY id")
                        .fetch_all(&self.db)
                        .await
                        .unwrap_or_default();
                panic!("jobs still busy at {now}: {jobs:#?}");
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// When an incident was reported.
    pub async fn report_time(&self, incident: i64) -> chrono::DateTime<Utc> {
        sqlx::query_scalar("SELECT reported_at FROM incidents WHERE id = ?")
            .bind(incident)
            .fetch_one(&self.db)
            .await
            .expect("the incident")
    }

    /// Every event kind of an incident's timeline, in order.
    pub async fn timeline(&self, incident: i64) -> Vec<String> {
        sqlx::query_scalar("SELECT kind FROM incident_events WHERE incident_id = ? ORDER BY id")
            .bind(incident)
            .fetch_all(&self.db)
            .await
            .expect("timeline")
    }

    /// A floor ready for anomalies and patrols: team group 天猫一组 (Alice and Bob its agents)
    /// with store 旗舰店, the ops group with Olga as operations, Sam and Sue as supervisors who
    /// started the bot and registered numbers.
    pub async fn set_up_floor(&self) {
        self.bind_team(TEAM_GROUP, "天猫一组").await;
        self.bind_ops(OPS_GROUP).await;
        // Alice and Bob speak in the team group, which makes them its agents.
        self.say(&ALICE, Chat::Group(TEAM_GROUP), "早上好");
        self.say(&BOB, Chat::Group(TEAM_GROUP), "早");
        self.say(&OLGA, Chat::Group(OPS_GROUP), "大家好");
        self.say(&SAM, Chat::Group(OPS_GROUP), "/role add ops @olga_ops");
        assert!(self.reply_in(OPS_GROUP).await.contains("运营"));
        self.say(&SAM, Chat::Group(TEAM_GROUP), "/store add 天猫 旗舰店");
        assert!(self.reply_in(TEAM_GROUP).await.starts_with("✅ 已添加店铺"));
        for (person, number) in [(SAM, SAM_PHONE), (SUE, SUE_PHONE)] {
            self.say(&person, Chat::Private, &format!("/phone {number}"));
            assert!(self.reply_to_private(&person).await.starts_with("✅"));
        }
    }

    /// Alice reports a wrong price; returns the bot's team message and the ops relay (as sent).
    pub async fn report_price_anomaly(&self) -> (Recorded, Recorded) {
        self.say(&ALICE, Chat::Group(TEAM_GROUP), "/anomaly 旗舰店 价格 A 款连衣裙标价 9.9，应为 99");
        let team = self.next_message_to(TEAM_GROUP.id).await;
        let relay = self.next_message_to(OPS_GROUP.id).await;
        (team, relay)
    }
}
