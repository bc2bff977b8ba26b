//! The HTTP side: routes `POST /bot<token>/<method>` to the checks and the answers,
//! records every request, and serves getUpdates as a long poll.

use std::sync::Arc;
use std::time::Duration;

use axum::body::to_bytes;
use axum::extract::{Request, State};
use axum::response::Response;
use serde_json::{Map, Value};
use tokio::time::Instant;

use super::Recorded;
use super::checks::{Checks, check_semantics};
use super::decode::{parse_params, percent_decode};
use super::state::{ApiError, Shared, ok_response};

/// Long polls never wait longer than this, so tests shut down quickly.
const LONG_POLL_CAP: Duration = Duration::from_secs(2);
/// Upper bound for request bodies (uploads included).
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

pub(super) async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
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
