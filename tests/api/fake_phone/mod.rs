//! A fake phone provider for end-to-end tests and benchmarks.
//!
//! The bot places phone calls through Twilio's Programmable Voice REST API or through a
//! generic JSON webhook; this server on 127.0.0.1 answers both, so the bot's HTTP client and
//! its error handling run unmodified:
//!
//! * `POST /2010-04-01/Accounts/{AccountSid}/Calls.json` creates a call (201 + call resource),
//! * `GET /2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}.json` reports its status, following
//!   a per-number script set by the test,
//! * `GET /2010-04-01/Accounts/{AccountSid}/Calls.json` lists calls (most recent first, filtered
//!   by `To`, `Status`, `StartTime`, ...), so that a bot can find out after a crash or a lost
//!   answer whether a call already went out,
//! * `POST /2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}.json` updates a call: cancels or
//!   hangs it up (`Status`), or changes what it says (`Twiml`),
//! * `POST /webhook` records any JSON object and answers `{"ok": true}`.
//!
//! Every create-call request is checked against the official Twilio OpenAPI description
//! (`tests/specs/twilio_api_v2010.json`, the `CreateCallRequest` form schema) and against the
//! bot's own rules (E.164 numbers, well-formed TwiML with a `<Response>` root, at most 300
//! characters per `<Say>`, a `Timeout` of 5..=600 seconds). Problems are recorded as violations,
//! which tests assert to be empty at the end. What Twilio itself refuses when a call is created
//! (bad credentials, a missing or malformed `To`/`From`, no `Url`/`Twiml`/`ApplicationSid`, a
//! value of the wrong type) is also answered with Twilio's error status and JSON error body;
//! the rest (TwiML problems, the `<Say>` length, the `Timeout` range, unknown parameters) is
//! accepted as Twilio would accept it, and only recorded.
//!
//! Tests can script call outcomes, inject failures, take the provider down, hold create
//! requests inside the server, and lose or delay the answer to a create that went through (the
//! case where a retry would ring someone twice). Times in call resources come from a [`Clock`],
//! the bot's own in tests on a manual clock. The server keeps its critical sections short so
//! that it can absorb a burst of a thousand concurrent calls in a benchmark.
//!
//! This file holds what tests name: [`FakePhone`] with all its methods, and the records it
//! hands back ([`PlacedCall`], [`ListRequest`], [`CallUpdate`]).

mod calls;
mod checks;
mod connection;
mod list;
mod server;
mod spec;
mod state;
#[cfg(test)]
mod test_client;
mod twiml;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use chrono::{DateTime, Utc};
use floorbot::clock::{Clock, SystemClock};
use serde_json::Value;
use tokio::sync::{Notify, oneshot, watch};
use tokio::task::JoinHandle;

use connection::{Connection, PhoneListener};
use server::handle;
use spec::CallSpec;
use state::{PhoneState, Shared, splitmix64};

const API_PREFIX: &str = "/2010-04-01/Accounts/";
const WEBHOOK_PATH: &str = "/webhook";
/// Upper bound for request bodies; the bot's are tiny.
const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Lets a burst of a thousand connections queue instead of being refused.
const LISTEN_BACKLOG: u32 = 4096;
/// How long [`FakePhone::stop`] waits for open connections before aborting the server.
const STOP_GRACE: Duration = Duration::from_secs(3);

/// A running fake phone provider. Dropping it aborts the server; [`FakePhone::stop`] shuts it
/// down gracefully.
#[allow(dead_code)]
pub struct FakePhone {
    shared: Arc<Shared>,
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
}

/// One call the bot placed successfully (answered 201).
#[allow(dead_code)]
#[derive(Clone, Debug)]
pub struct PlacedCall {
    pub sid: String,
    pub to: String,
    pub from: String,
    pub twiml: String,
    /// The text inside <Say>, entities unescaped. Several `<Say>` elements are joined with
    /// newlines; empty when the TwiML has none or is malformed.
    pub said: String,
    pub timeout: Option<u32>,
    /// When the request arrived (std::time::Instant), for latency measurements. Taken before
    /// any [`FakePhone::hold_creates`] hold.
    pub at: Instant,
    /// When the call was created on the fake's clock: its `date_created`, and its start time
    /// for list filters.
    pub created: DateTime<Utc>,
}

/// One list-calls request, whatever it was answered.
#[allow(dead_code)]
#[derive(Clone, Debug)]
pub struct ListRequest {
    /// The query parameters, percent-decoded, in the order they came (`StartTime>` appears
    /// as such, not as `StartTime%3E`).
    pub params: Vec<(String, String)>,
    /// The HTTP status the fake answered with.
    pub status: u16,
}

#[allow(dead_code)]
impl ListRequest {
    /// The first value of a query parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }
}

/// One update-call request the fake applied (answered 200).
#[allow(dead_code)]
#[derive(Clone, Debug)]
pub struct CallUpdate {
    pub sid: String,
    /// `Status` as sent: "canceled" or "completed".
    pub status: Option<String>,
    /// `Twiml` as sent.
    pub twiml: Option<String>,
    /// The text inside the new TwiML's `<Say>` elements, as [`PlacedCall::said`].
    pub said: Option<String>,
}

#[allow(dead_code)]
impl FakePhone {
    /// Starts serving. `account_sid` and `auth_token` are what basic auth must carry. Call
    /// resources carry wall-clock times.
    pub async fn start(account_sid: &str, auth_token: &str) -> FakePhone {
        FakePhone::start_with_clock(account_sid, auth_token, Arc::new(SystemClock)).await
    }

    /// Like [`Self::start`], with call times (`date_created`, `start_time`, `end_time`,
    /// `date_updated`, and the list filters on them) read from `clock`: give it the bot's own
    /// clock, so that "calls since the incident began" means the same to both.
    pub async fn start_with_clock(account_sid: &str, auth_token: &str, clock: Arc<dyn Clock>) -> FakePhone {
        static INSTANCES: AtomicU64 = AtomicU64::new(0);
        let instance = INSTANCES.fetch_add(1, Ordering::Relaxed);
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
        let (hold, _) = watch::channel(false);
        let shared = Arc::new(Shared {
            account_sid: account_sid.to_owned(),
            auth_token: auth_token.to_owned(),
            spec: CallSpec::get(),
            clock,
            state: Mutex::new(PhoneState::default()),
            changed: Notify::new(),
            down: AtomicBool::new(false),
            hold,
            default_script: Arc::from(vec!["completed".to_owned()]),
            sid_seed: splitmix64(nanos ^ instance.rotate_left(32)),
            next_sid: AtomicU64::new(1),
        });

        let socket = tokio::net::TcpSocket::new_v4().expect("socket for the fake phone server");
        socket.bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).expect("bind the fake phone server");
        let listener = socket.listen(LISTEN_BACKLOG).expect("listen on the fake phone server");
        let addr = listener.local_addr().expect("local address of the fake phone server");
        let listener = PhoneListener(listener);
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&shared))
            .into_make_service_with_connect_info::<Connection>();
        let (shutdown, shutdown_signal) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let signal = async {
                let _ = shutdown_signal.await;
            };
            let _ = axum::serve(listener, app).with_graceful_shutdown(signal).await;
        });
        FakePhone { shared, addr, shutdown: Some(shutdown), server: Some(server) }
    }

    /// "http://127.0.0.1:PORT" — give it to the bot as TWILIO_API_URL.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Where the generic webhook provider listens.
    pub fn webhook_url(&self) -> String {
        format!("{}{WEBHOOK_PATH}", self.base_url())
    }

    /// Successful create-call requests, in the order they were recorded.
    pub fn calls(&self) -> Vec<PlacedCall> {
        self.shared.lock().calls.clone()
    }

    /// Successful create-call requests to `number`, in order.
    pub fn calls_to(&self, number: &str) -> Vec<PlacedCall> {
        self.shared.lock().calls.iter().filter(|call| call.to == number).cloned().collect()
    }

    /// Bodies of the webhook requests that were answered 200, in order.
    pub fn webhook_posts(&self) -> Vec<Value> {
        self.shared.lock().webhook_posts.iter().map(|(_, body)| body.clone()).collect()
    }

    /// Like [`Self::webhook_posts`], with the moment each request arrived.
    pub fn webhook_posts_at(&self) -> Vec<(Instant, Value)> {
        self.shared.lock().webhook_posts.clone()
    }

    /// Statuses returned by successive GETs of calls to `number` placed from now on; each call
    /// gets the whole script, and the last status repeats. Default for every call: ["completed"].
    /// Panics on an empty script or a status the spec does not know.
    pub fn script(&self, number: &str, statuses: &[&str]) {
        assert!(!statuses.is_empty(), "a call status script needs at least one status");
        for status in statuses {
            assert!(
                self.shared.spec.statuses.iter().any(|known| known == status),
                "{status:?} is not a Twilio call status; known: {:?}",
                self.shared.spec.statuses
            );
        }
        let script: Arc<[String]> = statuses.iter().map(|status| (*status).to_owned()).collect();
        self.shared.lock().scripts.insert(number.to_owned(), script);
    }

    /// The next `count` create-call requests fail with this HTTP status (e.g. 503 or 500),
    /// with a Twilio error body; they are not recorded in calls() but counted in failed_creates().
    /// Repeated calls queue up. Only requests with valid credentials use them up, after any
    /// hold; the requests are still checked for violations.
    pub fn fail_next_creates(&self, count: usize, http_status: u16) {
        assert!((400..=599).contains(&http_status), "an injected failure needs a 4xx or 5xx status");
        if count > 0 {
            self.shared.lock().fail_next.push_back((count, http_status));
        }
    }

    /// While true, every request (create, fetch, list, update and webhook) answers 503.
    pub fn set_down(&self, down: bool) {
        self.shared.down.store(down, Ordering::SeqCst);
    }

    /// Create-call requests answered with an error: injected failures, 503s while down, and
    /// requests refused for bad credentials or invalid parameters.
    pub fn failed_creates(&self) -> usize {
        self.shared.lock().failed_creates
    }

    /// Status GETs answered 200.
    pub fn status_requests(&self) -> usize {
        self.shared.lock().status_requests
    }

    /// Every list-calls request so far, in order, with the status it was answered with.
    pub fn list_requests(&self) -> Vec<ListRequest> {
        self.shared.lock().list_requests.clone()
    }

    /// The next `count` list-calls requests (with valid credentials) fail with this HTTP
    /// status and a Twilio error body. Repeated calls queue up.
    pub fn fail_next_lists(&self, count: usize, http_status: u16) {
        assert!((400..=599).contains(&http_status), "an injected failure needs a 4xx or 5xx status");
        if count > 0 {
            self.shared.lock().fail_next_lists.push_back((count, http_status));
        }
    }

    /// Update-call requests the fake applied, in order.
    pub fn updates(&self) -> Vec<CallUpdate> {
        self.shared.lock().updates.clone()
    }

    /// The status of a call as the fake last reported it (or as an update forced it), without
    /// advancing its script; None for an unknown SID.
    pub fn status_of(&self, sid: &str) -> Option<String> {
        self.shared.lock().by_sid.get(sid).map(|record| record.status.clone())
    }

    /// The next `count` create-call requests that succeed are carried out (the call is
    /// recorded and rings as usual) but their answer is lost: the server closes the connection
    /// without a response, so the client sees a transport error at once. Simulates a network
    /// failure after Twilio accepted the call, where blindly retrying rings the person twice.
    pub fn lose_next_create_responses(&self, count: usize) {
        self.shared.lock().lose_next += count;
    }

    /// The next `count` create-call requests that succeed are carried out at once but answered
    /// only after `delay` (real time), to push the client past its timeout while the call
    /// rings anyway.
    pub fn delay_next_create_responses(&self, count: usize, delay: Duration) {
        if count > 0 {
            self.shared.lock().delay_next.push_back((count, delay));
        }
    }

    /// Waits (bounded, Notify-based, no busy loop) until at least `count` calls were placed.
    pub async fn wait_for_calls(&self, count: usize, timeout: Duration) -> bool {
        self.shared.wait_until(timeout, |state| state.calls.len() >= count).await
    }

    /// Waits until at least `count` status GETs were served.
    pub async fn wait_for_status_requests(&self, count: usize, timeout: Duration) -> bool {
        self.shared.wait_until(timeout, |state| state.status_requests >= count).await
    }

    /// Waits until at least `count` webhook posts were recorded.
    pub async fn wait_for_webhook_posts(&self, count: usize, timeout: Duration) -> bool {
        self.shared.wait_until(timeout, |state| state.webhook_posts.len() >= count).await
    }

    /// Waits until at least `count` create-call requests are held (see [`Self::hold_creates`]).
    pub async fn wait_for_held_creates(&self, count: usize, timeout: Duration) -> bool {
        self.shared.wait_until(timeout, |state| state.held >= count).await
    }

    /// Holds every create-call request until release_creates() is called (the request waits
    /// inside the server; it is recorded only once released). Lets a test make something
    /// happen while a call is being placed. Credentials are checked before the hold; being
    /// down and injected failures apply after it.
    pub fn hold_creates(&self) {
        self.shared.hold.send_replace(true);
    }

    /// Lets every held create-call request go on, and stops holding new ones.
    pub fn release_creates(&self) {
        self.shared.hold.send_replace(false);
    }

    /// Number of create-call requests currently held.
    pub fn held_creates(&self) -> usize {
        self.shared.lock().held
    }

    /// Every problem seen so far in the bot's requests; tests assert this is empty at the end.
    pub fn violations(&self) -> Vec<String> {
        self.shared.lock().violations.clone()
    }

    /// Stops serving. Held requests are released first so that they can finish.
    pub async fn stop(mut self) {
        self.shared.hold.send_replace(false);
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(mut server) = self.server.take() {
            // Graceful shutdown waits for open connections; a stuck client must not hang the test.
            if tokio::time::timeout(STOP_GRACE, &mut server).await.is_err() {
                server.abort();
            }
        }
    }
}

impl Drop for FakePhone {
    fn drop(&mut self) {
        // Connection tasks outlive the aborted accept loop; a held request must not wait forever.
        self.shared.hold.send_replace(false);
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}
