//! Creating, fetching and updating calls: a placed call follows its script on every status
//! request, an update cancels or ends it, and each answer is a call resource shaped like
//! Twilio's.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use axum::Json;
use axum::body::{Body, to_bytes};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::checks::{CreateCheck, parse_form};
use super::server::{ApiError, Delivery, authorize, content_type, has_content_type};
use super::spec::FORM_CONTENT_TYPE;
use super::state::{CallRecord, FINAL_STATUSES, HeldGuard, Shared, take_injected_failure};
use super::{API_PREFIX, CallUpdate, MAX_BODY_BYTES, PlacedCall};

pub(super) async fn create_call(
    shared: &Shared,
    account: &str,
    headers: &HeaderMap,
    body: Body,
    arrived: Instant,
) -> Result<(Value, Delivery), ApiError> {
    authorize(shared, "create call", account, headers)?;

    let mut hold = shared.hold.subscribe();
    if *hold.borrow_and_update() {
        let _held = HeldGuard::new(shared);
        // The sender lives as long as `shared`, so this only ends by a release.
        let _ = hold.wait_for(|held| !*held).await;
    }
    if shared.down.load(Ordering::SeqCst) {
        return Err(ApiError::http(503));
    }

    let bytes = match to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => bytes,
        Err(e) => {
            shared.violation(format!("create call: unreadable body: {e}"));
            return Err(ApiError::http(413));
        }
    };
    let mut check = CreateCheck::default();
    if !has_content_type(headers, FORM_CONTENT_TYPE) {
        check.violation(format!("Content-Type is {:?}, expected {FORM_CONTENT_TYPE}", content_type(headers)));
    }
    match parse_form(&bytes) {
        Ok(params) => check.check_params(shared.spec, &params),
        Err(problem) => {
            check.violation(problem);
            check.reject(ApiError::new(400, 20001, "Invalid request body"));
        }
    }

    let created = shared.clock.now();
    let response = {
        let mut state = shared.lock();
        let to = check.to.clone();
        state.violations.extend(check.problems.drain(..).map(|problem| format!("create call to {to:?}: {problem}")));
        if let Some(status) = take_injected_failure(&mut state.fail_next) {
            Err(ApiError::http(status))
        } else if let Some(error) = check.rejection.take() {
            Err(error)
        } else {
            let sid = shared.next_sid();
            let script = state.scripts.get(&check.to).cloned().unwrap_or_else(|| Arc::clone(&shared.default_script));
            let call = PlacedCall {
                sid: sid.clone(),
                to: check.to,
                from: check.from,
                twiml: check.twiml,
                said: check.said,
                timeout: check.timeout,
                at: arrived,
                created,
            };
            let record = CallRecord {
                index: state.calls.len(),
                script,
                polls: 0,
                status: "queued".to_owned(),
                hung_up: false,
                created,
                updated: created,
                ended: None,
            };
            let resource = call_resource(&shared.account_sid, &call, &record);
            state.calls.push(call);
            state.by_sid.insert(sid, record);
            let delivery = if state.lose_next > 0 {
                state.lose_next -= 1;
                Delivery::Never
            } else {
                match take_injected_failure(&mut state.delay_next) {
                    Some(delay) => Delivery::After(delay),
                    None => Delivery::Now,
                }
            };
            Ok((resource, delivery))
        }
    };
    shared.changed.notify_waiters();
    response
}

pub(super) fn fetch_call(shared: &Shared, account: &str, sid: &str, headers: &HeaderMap) -> Result<Response, ApiError> {
    authorize(shared, "fetch call", account, headers)?;
    let now = shared.clock.now();
    let resource = {
        let mut state = shared.lock();
        let state = &mut *state;
        match state.by_sid.get_mut(sid) {
            Some(record) => {
                if !record.hung_up {
                    let status = Arc::clone(&record.script);
                    record.set_status(&status[record.polls.min(status.len() - 1)], now);
                    record.polls += 1;
                }
                state.status_requests += 1;
                Some(call_resource(&shared.account_sid, &state.calls[record.index], record))
            }
            None => {
                state.violations.push(format!("fetch call: unknown call SID {sid:?}"));
                None
            }
        }
    };
    let Some(resource) = resource else {
        return Err(ApiError::not_found());
    };
    shared.changed.notify_waiters();
    Ok(Json(resource).into_response())
}

/// Twilio's update semantics: `Status=canceled` ends a call that has not been answered,
/// `Status=completed` ends any call still going; `Twiml` changes what it says.
pub(super) async fn update_call(
    shared: &Shared,
    account: &str,
    sid: &str,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    authorize(shared, "update call", account, headers)?;
    let bytes = match to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => bytes,
        Err(e) => {
            shared.violation(format!("update call {sid}: unreadable body: {e}"));
            return Err(ApiError::http(413));
        }
    };
    let mut check = CreateCheck::default();
    if !has_content_type(headers, FORM_CONTENT_TYPE) {
        check.violation(format!("Content-Type is {:?}, expected {FORM_CONTENT_TYPE}", content_type(headers)));
    }
    let (status, twiml) = match parse_form(&bytes) {
        Ok(params) => check.check_update(shared.spec, &params),
        Err(problem) => {
            check.violation(problem);
            check.reject(ApiError::new(400, 20001, "Invalid request body"));
            (None, None)
        }
    };

    let now = shared.clock.now();
    let resource = {
        let mut state = shared.lock();
        let state = &mut *state;
        state.violations.extend(check.problems.drain(..).map(|problem| format!("update call {sid}: {problem}")));
        if let Some(error) = check.rejection.take() {
            return Err(error);
        }
        let Some(record) = state.by_sid.get_mut(sid) else {
            state.violations.push(format!("update call: unknown call SID {sid:?}"));
            return Err(ApiError::not_found());
        };
        let hang_up = match status.as_deref() {
            Some("canceled") => matches!(record.status.as_str(), "queued" | "ringing"),
            Some("completed") => !record.is_finished(),
            _ => false,
        };
        if let (true, Some(status)) = (hang_up, &status) {
            record.set_status(status, now);
            record.hung_up = true;
        }
        let said = twiml.as_ref().map(|_| check.said.clone());
        state.updates.push(CallUpdate { sid: sid.to_owned(), status, twiml, said });
        call_resource(&shared.account_sid, &state.calls[record.index], record)
    };
    shared.changed.notify_waiters();
    Ok(Json(resource).into_response())
}

/// A call resource shaped like the spec's `api.v2010.account.call`, as of its current status.
pub(super) fn call_resource(account: &str, call: &PlacedCall, record: &CallRecord) -> Value {
    let uri = format!("{API_PREFIX}{account}/Calls/{}", call.sid);
    let subresource = |name: &str| format!("{uri}/{name}.json");
    let status = record.status.as_str();
    let started = matches!(status, "in-progress" | "completed");
    let ended = FINAL_STATUSES.contains(&status);
    let date_created = rfc2822(record.created);
    json!({
        "account_sid": account,
        "answered_by": null,
        "api_version": "2010-04-01",
        "caller_name": null,
        "date_created": date_created,
        "date_updated": rfc2822(record.updated),
        "direction": "outbound-api",
        "duration": if status == "completed" { json!("12") } else if ended { json!("0") } else { Value::Null },
        "end_time": record.ended.map(rfc2822),
        "forwarded_from": null,
        "from": call.from,
        "from_formatted": formatted_number(&call.from),
        "group_sid": null,
        "parent_call_sid": null,
        "phone_number_sid": null,
        "price": null,
        "price_unit": "USD",
        "queue_time": "0",
        "sid": call.sid,
        "start_time": if started { json!(date_created) } else { Value::Null },
        "status": status,
        "subresource_uris": {
            "notifications": subresource("Notifications"),
            "recordings": subresource("Recordings"),
            "payments": subresource("Payments"),
            "events": subresource("Events"),
            "siprec": subresource("Siprec"),
            "streams": subresource("Streams"),
            "transcriptions": subresource("Transcriptions"),
            "user_defined_message_subscriptions": subresource("UserDefinedMessageSubscriptions"),
            "user_defined_messages": subresource("UserDefinedMessages"),
        },
        "to": call.to,
        "to_formatted": formatted_number(&call.to),
        "trunk_sid": null,
        "uri": format!("{uri}.json"),
    })
}

/// North American numbers as "(415) 867-5309", others unchanged, as Twilio shows them.
fn formatted_number(number: &str) -> String {
    match number.strip_prefix("+1") {
        Some(d) if d.len() == 10 && d.bytes().all(|b| b.is_ascii_digit()) => {
            format!("({}) {}-{}", &d[..3], &d[3..6], &d[6..])
        }
        _ => number.to_owned(),
    }
}

/// RFC 2822 date in UTC, as Twilio writes `date_created`: "Tue, 31 Aug 2010 20:36:28 +0000".
fn rfc2822(time: DateTime<Utc>) -> String {
    time.format("%a, %d %b %Y %H:%M:%S +0000").to_string()
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn an_update_cancels_or_ends_a_call_for_good() {
        use super::super::checks::MAX_SAY_CHARS;
        use super::super::test_client::{ANN, BOB, call_url, create, get, list, start, update};
        use serde_json::json;

        let (phone, _clock) = start().await;
        phone.script(ANN, &["ringing", "in-progress", "completed"]);
        phone.script(BOB, &["in-progress", "no-answer"]);
        let ann = create(&phone, ANN).await;
        let bob = create(&phone, BOB).await;

        // Canceling reaches a call that is still ringing ...
        assert_eq!(get(&call_url(&phone, &ann)).await.1["status"], json!("ringing"));
        let (status, body) = update(&phone, &ann, &[("Status", "canceled")]).await;
        assert_eq!(status, 200);
        assert_eq!(body["status"], json!("canceled"));
        for _ in 0..3 {
            assert_eq!(get(&call_url(&phone, &ann)).await.1["status"], json!("canceled"));
        }
        let (_, listed) = list(&phone, "To=%2B8613800138001").await;
        assert_eq!(listed["calls"][0]["status"], json!("canceled"));
        assert!(listed["calls"][0]["end_time"].is_string());

        // ... not one that was answered; ending it does.
        assert_eq!(get(&call_url(&phone, &bob)).await.1["status"], json!("in-progress"));
        assert_eq!(update(&phone, &bob, &[("Status", "canceled")]).await.1["status"], json!("in-progress"));
        let twiml = "<Response><Say>Resolved, thank you</Say></Response>";
        assert_eq!(update(&phone, &bob, &[("Twiml", twiml)]).await.1["status"], json!("in-progress"));
        assert_eq!(update(&phone, &bob, &[("Status", "completed")]).await.1["status"], json!("completed"));
        assert_eq!(get(&call_url(&phone, &bob)).await.1["status"], json!("completed"));
        assert_eq!(phone.status_of(&bob).as_deref(), Some("completed"));

        let updates = phone.updates();
        assert_eq!(updates.len(), 4);
        assert_eq!(updates[0].status.as_deref(), Some("canceled"));
        assert_eq!(updates[2].twiml.as_deref(), Some(twiml));
        assert_eq!(updates[2].said.as_deref(), Some("Resolved, thank you"));
        assert!(phone.violations().is_empty(), "{:?}", phone.violations());

        // Unknown calls, bad values and bad TwiML.
        let unknown = format!("CA{}", "0".repeat(32));
        assert_eq!(update(&phone, &unknown, &[("Status", "completed")]).await.0, 404);
        assert_eq!(update(&phone, &bob, &[("Status", "busy")]).await.0, 400);
        let long_say = format!("<Response><Say>{}</Say></Response>", "x".repeat(MAX_SAY_CHARS + 1));
        assert_eq!(update(&phone, &bob, &[("Twiml", &long_say)]).await.0, 200);
        assert_eq!(update(&phone, &bob, &[("Timeout", "30")]).await.0, 200);
        assert_eq!(phone.violations().len(), 4, "{:?}", phone.violations());
        assert_eq!(phone.updates().len(), 6);
    }

    #[tokio::test]
    async fn a_lost_answer_closes_the_connection_after_the_call_was_placed() {
        use super::super::test_client::{ANN, SID, TOKEN, calls_url, client, create, create_form, start};
        use std::time::{Duration, Instant};

        let (phone, _clock) = start().await;
        phone.lose_next_create_responses(1);
        let started = Instant::now();
        let lost = client().post(calls_url(&phone)).basic_auth(SID, Some(TOKEN)).form(&create_form(ANN)).send().await;
        let error = lost.expect_err("no answer");
        assert!(!error.is_timeout(), "the connection was closed, not left hanging: {error:?}");
        assert!(started.elapsed() < Duration::from_millis(500), "took {:?}", started.elapsed());
        assert_eq!(phone.calls_to(ANN).len(), 1);

        // The next one is answered, on the same client (a fresh connection).
        create(&phone, ANN).await;
        assert_eq!(phone.calls_to(ANN).len(), 2);
        assert_eq!(phone.failed_creates(), 0);
        assert!(phone.violations().is_empty(), "{:?}", phone.violations());
    }

    #[tokio::test]
    async fn a_delayed_answer_outlasts_the_client_while_the_call_rings() {
        use super::super::test_client::{BOB, SID, TOKEN, calls_url, create, create_form, start};
        use std::time::{Duration, Instant};

        let (phone, _clock) = start().await;
        phone.delay_next_create_responses(1, Duration::from_millis(150));
        let impatient = reqwest::Client::builder().timeout(Duration::from_millis(50)).build().expect("HTTP client");
        let late = impatient.post(calls_url(&phone)).basic_auth(SID, Some(TOKEN)).form(&create_form(BOB)).send().await;
        assert!(late.expect_err("timed out").is_timeout());
        assert_eq!(phone.calls_to(BOB).len(), 1);

        let started = Instant::now();
        create(&phone, BOB).await;
        assert!(started.elapsed() < Duration::from_millis(100), "only the first answer is late");
    }
}
