//! Telegram failing: outages, 429s, edits that change nothing, messages too long for one send.

use std::sync::Arc;
use std::time::Duration;

use floorbot::clock::ManualClock;
use floorbot::config::{Limits, Secret};
use floorbot::domain::outbound::{Button, ButtonAction, Keyboard, Outgoing};
use floorbot::domain::retry::Backoff;
use floorbot::telegram::lane::Lane;
use floorbot::telegram::lane::api::BotApi;
use tokio_util::sync::CancellationToken;

use crate::fake_telegram::{Failure, FakeTelegram};
use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bot_keeps_running_through_an_outage_and_answers_afterwards() {
    let app = spawn_app().await;
    app.bind_team(TEAM_GROUP, "天猫一组").await;
    app.telegram.set_failure(Some(Failure::ServerError));
    let polls_before = app.telegram.get_updates_calls();
    app.say(&ALICE, Chat::Group(TEAM_GROUP), "/whoami");
    // The poll in flight when the outage began may still succeed; the ones after it fail and
    // are tried again as the bot's clock moves on.
    app.polls_as_time_passes(polls_before + 3).await;
    app.telegram.set_failure(None);
    let reply = app.next_message_as_time_passes(TEAM_GROUP.id).await;
    assert!(text_of(&reply).starts_with("Alice (@alice_cs)"));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bot_keeps_polling_through_rate_limits() {
    let app = spawn_app().await;
    app.bind_team(TEAM_GROUP, "天猫一组").await;
    app.telegram.set_failure(Some(Failure::TooManyRequests { retry_after: 1 }));
    let polls_before = app.telegram.get_updates_calls();
    app.say(&ALICE, Chat::Group(TEAM_GROUP), "/whoami");
    app.polls_as_time_passes(polls_before + 3).await;
    app.telegram.set_failure(None);
    assert!(text_of(&app.next_message_as_time_passes(TEAM_GROUP.id).await).starts_with("Alice (@alice_cs)"));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limited_reply_is_sent_after_the_requested_wait() {
    let app = spawn_app().await;
    app.bind_team(TEAM_GROUP, "天猫一组").await;
    app.telegram.fail_next(
        "sendMessage",
        429,
        "Too Many Requests: retry after 1",
        Some(serde_json::json!({ "retry_after": 1 })),
    );
    app.say(&ALICE, Chat::Group(TEAM_GROUP), "/whoami");
    failures(&app.telegram, 1).await;
    app.settle().await;
    let sent_before = app.sent("sendMessage").len();
    app.advance(chrono::Duration::milliseconds(900)).await;
    assert_eq!(app.sent("sendMessage").len(), sent_before, "nothing before the second is over");
    app.advance(chrono::Duration::milliseconds(100)).await;
    assert!(app.reply_in(TEAM_GROUP).await.starts_with("Alice (@alice_cs)"));
    assert_eq!(app.telegram.failed_requests().len(), 1);
    app.stop().await;
}

/// A lane talking to a fake, on a fresh database and a settable clock, for edge-level checks.
struct Edge {
    lane: Lane,
    telegram: FakeTelegram,
    clock: ManualClock,
    stop: CancellationToken,
    _directory: tempfile::TempDir,
}

async fn edge() -> Edge {
    let telegram = FakeTelegram::start().await;
    let directory = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", directory.path().join("edge.db").display());
    let db = floorbot::db::connect_and_migrate(&url).await.expect("database");
    let api = url::Url::parse(&telegram.api_url()).expect("fake url");
    let api = BotApi::new(api, Secret::new(TOKEN), Duration::from_secs(5)).expect("client");
    let clock = ManualClock::new(chrono::Utc::now());
    let policy = Backoff { attempts: 4, first: Duration::from_millis(20), max: Duration::from_millis(100) };
    let lane = Lane::new(api, db, Arc::new(clock.clone()), Limits::default(), policy);
    let stop = CancellationToken::new();
    tokio::spawn({
        let lane = lane.clone();
        let stop = stop.clone();
        async move { lane.run(stop).await }
    });
    Edge { lane, telegram, clock, stop, _directory: directory }
}

/// Waits until the fake has answered `count` requests with an error.
async fn failures(telegram: &FakeTelegram, count: usize) {
    let started = std::time::Instant::now();
    while telegram.failed_requests().len() < count {
        assert!(started.elapsed() < WAIT, "no failure recorded");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_wait_out_a_429_and_an_unchanged_edit_counts_as_done() {
    let edge = edge().await;
    let telegram = &edge.telegram;
    telegram.remember_chat(OPS_GROUP.json());
    let sent = edge.lane.send(OPS_GROUP.id, Outgoing::new("<b>状态</b>：处理中")).await.expect("sent");
    let keyboard = Keyboard::new(vec![vec![Button::new("已处理", ButtonAction::Resolve(1))]]);

    telegram.fail_next(
        "editMessageText",
        429,
        "Too Many Requests: retry after 1",
        Some(serde_json::json!({ "retry_after": 1 })),
    );
    let edit = tokio::spawn({
        let lane = edge.lane.clone();
        let keyboard = keyboard.clone();
        let message_id = sent[0].message_id;
        async move { lane.edit(OPS_GROUP.id, message_id, "<b>状态</b>：已收到", Some(keyboard)).await }
    });
    failures(telegram, 1).await;
    assert!(telegram.requests_for("editMessageText").is_empty(), "nothing before the wait is over");
    edge.clock.advance(chrono::Duration::seconds(1));
    edit.await.expect("edit task").expect("edit after the wait");
    telegram.fail_next(
        "editMessageText",
        400,
        "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message",
        None,
    );
    edge.lane
        .edit(OPS_GROUP.id, sent[0].message_id, "<b>状态</b>：已收到", Some(keyboard))
        .await
        .expect("not modified is fine");

    let edits = telegram.requests_for("editMessageText");
    assert_eq!(edits.len(), 1, "one edit went through");
    assert_eq!(edits[0].body["text"], "<b>状态</b>：已收到");
    assert_eq!(edits[0].body["reply_markup"]["inline_keyboard"][0][0]["callback_data"], "res:1");
    assert_eq!(telegram.failed_requests().len(), 2);

    telegram.fail_next(
        "answerCallbackQuery",
        429,
        "Too Many Requests: retry after 1",
        Some(serde_json::json!({ "retry_after": 1 })),
    );
    let answer = tokio::spawn({
        let lane = edge.lane.clone();
        async move { lane.answer_callback("cbq-1", Some("只有运营可以确认"), true).await }
    });
    failures(telegram, 3).await;
    edge.clock.advance(chrono::Duration::seconds(1));
    answer.await.expect("answer task").expect("answered after the wait");
    assert_eq!(telegram.requests_for("answerCallbackQuery").len(), 1);
    assert!(telegram.violations().is_empty(), "{:#?}", telegram.violations());
    edge.stop.cancel();
    edge.telegram.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_over_the_limit_is_split_never_cut() {
    let edge = edge().await;
    let telegram = &edge.telegram;
    telegram.remember_chat(TEAM_GROUP.json());
    let lines: Vec<String> = (0..400).map(|n| format!("<b>{n:03}</b> 店铺异常记录 &amp; 说明文字")).collect();
    let html = lines.join("\n");
    let keyboard = Keyboard::new(vec![vec![Button::new("OK", ButtonAction::FormCancel)]]);
    let sent = edge.lane.send(TEAM_GROUP.id, Outgoing::new(&html).with_keyboard(Some(keyboard))).await.expect("sent");
    assert!(sent.len() >= 2, "split into {} parts", sent.len());
    let parts = telegram.requests_for("sendMessage");
    assert_eq!(parts.len(), sent.len());
    let joined: Vec<String> = parts.iter().map(text_of).collect();
    assert_eq!(joined.join("\n"), html, "nothing lost");
    for (index, part) in parts.iter().enumerate() {
        let has_keyboard = part.body.get("reply_markup").is_some();
        assert_eq!(has_keyboard, index + 1 == parts.len(), "keyboard only on the last part");
    }
    assert!(telegram.violations().is_empty(), "{:#?}", telegram.violations());
    edge.stop.cancel();
    edge.telegram.stop().await;
}
