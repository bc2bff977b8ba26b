//! For the fake's own tests: a fake on a manual clock, and requests to it as the bot would
//! send them.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use floorbot::clock::ManualClock;
use serde_json::{Value, json};

use super::FakeTelegram;

const TOKEN: &str = "7000000001:fake-token-for-the-fake";
pub(super) const PRIVATE: i64 = 4242;
pub(super) const GROUP: i64 = -1_001_234_567_890;

pub(super) async fn start() -> (FakeTelegram, ManualClock) {
    let start = Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).single().expect("valid start time");
    let clock = ManualClock::new(start);
    (FakeTelegram::start_with_clock(Arc::new(clock.clone())).await, clock)
}

pub(super) async fn call(telegram: &FakeTelegram, method: &str, body: Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/bot{TOKEN}/{method}", telegram.api_url()))
        .json(&body)
        .send()
        .await
        .expect("the fake answers");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON answer"))
}

pub(super) async fn send(telegram: &FakeTelegram, chat_id: i64, text: &str) -> (u16, Value) {
    call(telegram, "sendMessage", json!({ "chat_id": chat_id, "text": text })).await
}

pub(super) fn keyboard_json(data: &str) -> Value {
    json!({ "inline_keyboard": [[{ "text": "Ack", "callback_data": data }]] })
}

pub(super) fn millis(ms: i64) -> chrono::Duration {
    chrono::Duration::milliseconds(ms)
}
