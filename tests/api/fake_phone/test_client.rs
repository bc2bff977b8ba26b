//! For the fake's own tests: a fake on a manual clock, and requests to it as the bot would
//! send them.

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use floorbot::clock::ManualClock;
use serde_json::Value;

use super::{API_PREFIX, FakePhone};

pub(super) const SID: &str = "AC0123456789abcdef0123456789abcdef";
pub(super) const TOKEN: &str = "auth-token-for-the-fake";
const FROM: &str = "+14155550100";
pub(super) const ANN: &str = "+8613800138001";
pub(super) const BOB: &str = "+8613800138002";

pub(super) async fn start() -> (FakePhone, ManualClock) {
    let start = Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).single().expect("valid start time");
    let clock = ManualClock::new(start);
    (FakePhone::start_with_clock(SID, TOKEN, Arc::new(clock.clone())).await, clock)
}

pub(super) fn client() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(5)).build().expect("HTTP client")
}

pub(super) fn calls_url(phone: &FakePhone) -> String {
    format!("{}{API_PREFIX}{SID}/Calls.json", phone.base_url())
}

pub(super) fn call_url(phone: &FakePhone, sid: &str) -> String {
    format!("{}{API_PREFIX}{SID}/Calls/{sid}.json", phone.base_url())
}

pub(super) fn create_form(to: &str) -> Vec<(&'static str, String)> {
    vec![
        ("To", to.to_owned()),
        ("From", FROM.to_owned()),
        ("Twiml", "<Response><Say>Store 7 is down</Say></Response>".to_owned()),
    ]
}

pub(super) async fn create(phone: &FakePhone, to: &str) -> String {
    let response = client().post(calls_url(phone)).basic_auth(SID, Some(TOKEN)).form(&create_form(to)).send().await;
    let response = response.expect("the fake answers");
    assert_eq!(response.status(), 201);
    let call: Value = response.json().await.expect("a call resource");
    call["sid"].as_str().expect("a call SID").to_owned()
}

pub(super) async fn get(url: &str) -> (u16, Value) {
    let response = client().get(url).basic_auth(SID, Some(TOKEN)).send().await.expect("the fake answers");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON answer"))
}

pub(super) async fn list(phone: &FakePhone, query: &str) -> (u16, Value) {
    get(&format!("{}?{query}", calls_url(phone))).await
}

pub(super) async fn update(phone: &FakePhone, sid: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let response = client().post(call_url(phone, sid)).basic_auth(SID, Some(TOKEN)).form(form).send().await;
    let response = response.expect("the fake answers");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON answer"))
}

pub(super) fn sids(list: &Value) -> Vec<&str> {
    list["calls"].as_array().expect("a list of calls").iter().filter_map(|call| call["sid"].as_str()).collect()
}
