//! The HTTP side: routes each request to create, fetch, list or update a call or to the
//! webhook, checks credentials, and shapes Twilio's error answers.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::Json;
use axum::body::{Body, to_bytes};
use axum::extract::connect_info::ConnectInfo;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::calls::{create_call, fetch_call, update_call};
use super::checks::{check_basic_auth, parse_form};
use super::connection::Connection;
use super::list::list_calls;
use super::state::Shared;
use super::{API_PREFIX, ListRequest, MAX_BODY_BYTES, WEBHOOK_PATH};

/// A Twilio-style error answer.
pub(super) struct ApiError {
    status: u16,
    code: u32,
    message: String,
}

impl ApiError {
    pub(super) fn new(status: u16, code: u32, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into() }
    }

    /// Twilio numbers its generic HTTP errors 20000 + status (20404, 20429, 20500, 20503, ...).
    pub(super) fn http(status: u16) -> ApiError {
        let message = StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("Error");
        ApiError::new(status, 20_000 + u32::from(status), message)
    }

    fn unauthorized() -> ApiError {
        ApiError::new(401, 20003, "Authenticate")
    }

    pub(super) fn not_found() -> ApiError {
        ApiError::new(404, 20404, "The requested resource was not found")
    }

    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = json!({
            "code": self.code,
            "message": self.message,
            "more_info": format!("https://www.twilio.com/docs/errors/{}", self.code),
            "status": self.status,
        });
        let mut response = (status, Json(body)).into_response();
        if self.status == 401 {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"Twilio API\""));
        }
        response
    }
}

enum Route {
    CreateCall { account: String },
    ListCalls { account: String },
    FetchCall { account: String, sid: String },
    UpdateCall { account: String, sid: String },
    Webhook,
    Unknown,
}

impl Route {
    fn parse(method: &Method, path: &str) -> Route {
        if path == WEBHOOK_PATH && method == Method::POST {
            return Route::Webhook;
        }
        let Some((account, tail)) = path.strip_prefix(API_PREFIX).and_then(|rest| rest.split_once('/')) else {
            return Route::Unknown;
        };
        let account = account.to_owned();
        if tail == "Calls.json" {
            return if method == Method::POST {
                Route::CreateCall { account }
            } else if method == Method::GET {
                Route::ListCalls { account }
            } else {
                Route::Unknown
            };
        }
        match tail.strip_prefix("Calls/").and_then(|rest| rest.strip_suffix(".json")) {
            Some(sid) if !sid.contains('/') && method == Method::GET => {
                Route::FetchCall { account, sid: sid.to_owned() }
            }
            Some(sid) if !sid.contains('/') && method == Method::POST => {
                Route::UpdateCall { account, sid: sid.to_owned() }
            }
            _ => Route::Unknown,
        }
    }
}

/// How the answer to a successful create reaches the client.
pub(super) enum Delivery {
    Now,
    After(Duration),
    Never,
}

pub(super) async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let arrived = Instant::now();
    let (parts, body) = request.into_parts();
    let connection =
        parts.extensions.get::<ConnectInfo<Connection>>().map(|ConnectInfo(connection)| connection.clone());
    let route = Route::parse(&parts.method, parts.uri.path());
    let down = shared.down.load(Ordering::SeqCst);
    match route {
        Route::Webhook if down => (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "ok": false }))).into_response(),
        Route::Webhook => webhook(&shared, &parts.headers, body, arrived).await,
        Route::CreateCall { .. } if down => {
            shared.count_failed_create();
            ApiError::http(503).into_response()
        }
        Route::CreateCall { account } => match create_call(&shared, &account, &parts.headers, body, arrived).await {
            Ok((resource, delivery)) => {
                let response = (StatusCode::CREATED, Json(resource)).into_response();
                match (delivery, connection) {
                    (Delivery::After(delay), _) => tokio::time::sleep(delay).await,
                    (Delivery::Never, Some(connection)) => connection.drop_without_answer(),
                    (Delivery::Never, None) => {
                        shared.violation("create call: the fake could not drop the connection".to_owned());
                    }
                    (Delivery::Now, _) => {}
                }
                response
            }
            Err(error) => {
                shared.count_failed_create();
                error.into_response()
            }
        },
        Route::ListCalls { account } => {
            let (params, outcome) = match parse_form(parts.uri.query().unwrap_or_default().as_bytes()) {
                Ok(params) => {
                    let outcome = if down {
                        Err(ApiError::http(503))
                    } else {
                        list_calls(&shared, &account, &params, &parts.headers)
                    };
                    (params, outcome)
                }
                Err(problem) => {
                    shared.violation(format!("list calls: {problem}"));
                    (Vec::new(), Err(ApiError::new(400, 20001, "Invalid query string")))
                }
            };
            let response = outcome.unwrap_or_else(ApiError::into_response);
            shared.lock().list_requests.push(ListRequest { params, status: response.status().as_u16() });
            shared.changed.notify_waiters();
            response
        }
        Route::FetchCall { .. } | Route::UpdateCall { .. } if down => ApiError::http(503).into_response(),
        Route::FetchCall { account, sid } => match fetch_call(&shared, &account, &sid, &parts.headers) {
            Ok(response) => response,
            Err(error) => error.into_response(),
        },
        Route::UpdateCall { account, sid } => match update_call(&shared, &account, &sid, &parts.headers, body).await {
            Ok(response) => response,
            Err(error) => error.into_response(),
        },
        Route::Unknown if down => ApiError::http(503).into_response(),
        Route::Unknown => {
            shared.violation(format!("{} {}: no such endpoint", parts.method, parts.uri.path()));
            ApiError::not_found().into_response()
        }
    }
}

/// Checks basic auth and the account in the path; records a violation when either is wrong.
pub(super) fn authorize(shared: &Shared, what: &str, account: &str, headers: &HeaderMap) -> Result<(), ApiError> {
    if let Err(problem) = check_basic_auth(headers, &shared.account_sid, &shared.auth_token) {
        shared.violation(format!("{what}: {problem}"));
        return Err(ApiError::unauthorized());
    }
    if account != shared.account_sid {
        shared.violation(format!("{what}: account {account:?} in the path is not {:?}", shared.account_sid));
        return Err(ApiError::not_found());
    }
    Ok(())
}

async fn webhook(shared: &Shared, headers: &HeaderMap, body: Body, arrived: Instant) -> Response {
    let bad_request =
        |problem: &str| (StatusCode::BAD_REQUEST, Json(json!({ "ok": false, "error": problem }))).into_response();
    if !has_content_type(headers, "application/json") {
        shared.violation(format!("webhook: Content-Type is {:?}, expected application/json", content_type(headers)));
    }
    let bytes = match to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => bytes,
        Err(e) => {
            shared.violation(format!("webhook: unreadable body: {e}"));
            return bad_request("unreadable body");
        }
    };
    let value = match serde_json::from_slice::<Value>(&bytes) {
        Ok(value @ Value::Object(_)) => value,
        Ok(other) => {
            shared.violation(format!("webhook: body is not a JSON object: {other}"));
            return bad_request("expected a JSON object");
        }
        Err(e) => {
            shared.violation(format!("webhook: body is not JSON: {e}"));
            return bad_request("invalid JSON");
        }
    };
    shared.lock().webhook_posts.push((arrived, value));
    shared.changed.notify_waiters();
    Json(json!({ "ok": true })).into_response()
}

pub(super) fn content_type(headers: &HeaderMap) -> &str {
    headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or("")
}

/// Compares the media type only (parameters such as `charset` are ignored).
pub(super) fn has_content_type(headers: &HeaderMap, expected: &str) -> bool {
    content_type(headers).split(';').next().is_some_and(|media| media.trim().eq_ignore_ascii_case(expected))
}
