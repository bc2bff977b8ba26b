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

use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::ops::RangeInclusive;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::{Body, to_bytes};
use axum::extract::connect_info::{ConnectInfo, Connected};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::serve::{IncomingStream, Listener};
use axum::{Json, Router};
use chrono::{DateTime, NaiveDate, Utc};
use floorbot::clock::{Clock, SystemClock};
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, oneshot, watch};
use tokio::task::JoinHandle;

const SPEC_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/specs/twilio_api_v2010.json");
/// The create-call and list-calls operations in the spec, the fetch and update ones, and the
/// schema of a call's status.
const SPEC_CREATE_CALL_PATH: &str = "/2010-04-01/Accounts/{AccountSid}/Calls.json";
const SPEC_CALL_PATH: &str = "/2010-04-01/Accounts/{AccountSid}/Calls/{Sid}.json";
const SPEC_CALL_STATUS_SCHEMA: &str = "call_enum_status";
const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded";
const API_PREFIX: &str = "/2010-04-01/Accounts/";
const WEBHOOK_PATH: &str = "/webhook";
/// Longest text the bot may put in one `<Say>`, in characters after unescaping entities.
const MAX_SAY_CHARS: usize = 300;
/// From the spec's description of `Twiml`.
const MAX_TWIML_CHARS: usize = 4000;
/// Ring time the bot may ask for, in seconds.
const TIMEOUT_RANGE: RangeInclusive<i64> = 5..=600;
/// Upper bound for request bodies; the bot's are tiny.
const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Lets a burst of a thousand connections queue instead of being refused.
const LISTEN_BACKLOG: u32 = 4096;
/// How long [`FakePhone::stop`] waits for open connections before aborting the server.
const STOP_GRACE: Duration = Duration::from_secs(3);
/// Twilio's default and largest page of a call list.
const DEFAULT_PAGE_SIZE: usize = 50;
/// Statuses after which a call never changes again.
const FINAL_STATUSES: &[&str] = &["completed", "busy", "failed", "no-answer", "canceled"];

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

// ---------------------------------------------------------------------------
// Shared state
// ---------------------------------------------------------------------------

struct Shared {
    account_sid: String,
    auth_token: String,
    spec: &'static CallSpec,
    /// Where call times come from.
    clock: Arc<dyn Clock>,
    state: Mutex<PhoneState>,
    /// Woken after every change that a `wait_for_*` may be waiting for.
    changed: Notify,
    /// Read on every request, so kept out of the mutex.
    down: AtomicBool,
    /// True while create-call requests are held.
    hold: watch::Sender<bool>,
    default_script: Arc<[String]>,
    sid_seed: u64,
    next_sid: AtomicU64,
}

#[derive(Default)]
struct PhoneState {
    calls: Vec<PlacedCall>,
    by_sid: HashMap<String, CallRecord>,
    scripts: HashMap<String, Arc<[String]>>,
    webhook_posts: Vec<(Instant, Value)>,
    /// Injected failures still to apply: (remaining requests, HTTP status).
    fail_next: VecDeque<(usize, u16)>,
    failed_creates: usize,
    status_requests: usize,
    list_requests: Vec<ListRequest>,
    fail_next_lists: VecDeque<(usize, u16)>,
    updates: Vec<CallUpdate>,
    /// Successful creates still to answer by closing the connection.
    lose_next: usize,
    /// Successful creates still to answer late: (remaining requests, delay).
    delay_next: VecDeque<(usize, Duration)>,
    held: usize,
    violations: Vec<String>,
}

struct CallRecord {
    /// Position in `PhoneState::calls`.
    index: usize,
    script: Arc<[String]>,
    polls: usize,
    /// The status last reported (or set by an update), so that fetch and list agree.
    status: String,
    /// Set by an update that hung the call up: the script no longer applies.
    hung_up: bool,
    created: DateTime<Utc>,
    /// When the status last changed.
    updated: DateTime<Utc>,
    /// When the call reached a final status.
    ended: Option<DateTime<Utc>>,
}

impl CallRecord {
    fn set_status(&mut self, status: &str, now: DateTime<Utc>) {
        if self.status != status {
            self.status = status.to_owned();
            self.updated = now;
        }
        if FINAL_STATUSES.contains(&status) && self.ended.is_none() {
            self.ended = Some(now);
        }
    }

    fn is_finished(&self) -> bool {
        FINAL_STATUSES.contains(&self.status.as_str())
    }
}

impl Shared {
    /// A panic elsewhere must not hide what was recorded, so poisoning is ignored.
    fn lock(&self) -> MutexGuard<'_, PhoneState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn violation(&self, problem: String) {
        self.lock().violations.push(problem);
    }

    fn count_failed_create(&self) {
        self.lock().failed_creates += 1;
    }

    fn next_sid(&self) -> String {
        let n = self.next_sid.fetch_add(1, Ordering::Relaxed);
        // The counter half keeps SIDs unique; the mixed half makes them look random.
        format!("CA{:016x}{n:016x}", splitmix64(self.sid_seed ^ n))
    }

    async fn wait_until(&self, timeout: Duration, check: impl Fn(&PhoneState) -> bool) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            // Register interest before looking, so a change in between is not missed.
            let mut notified = std::pin::pin!(self.changed.notified());
            notified.as_mut().enable();
            if check(&self.lock()) {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::select! {
                () = &mut notified => {}
                () = tokio::time::sleep_until(deadline) => {}
            }
        }
    }
}

/// Counts a held request while it waits, also when the client gives up and the request is dropped.
struct HeldGuard<'a>(&'a Shared);

impl<'a> HeldGuard<'a> {
    fn new(shared: &'a Shared) -> Self {
        shared.lock().held += 1;
        shared.changed.notify_waiters();
        HeldGuard(shared)
    }
}

impl Drop for HeldGuard<'_> {
    fn drop(&mut self) {
        self.0.lock().held -= 1;
        self.0.changed.notify_waiters();
    }
}

// ---------------------------------------------------------------------------
// Connections that can be dropped without an answer
// ---------------------------------------------------------------------------

/// Accepts TCP connections and hands each to the server wrapped in a [`DroppableStream`];
/// the matching [`Connection`] reaches the handler as connect info, so that a handler can
/// close its own connection instead of answering.
struct PhoneListener(TcpListener);

/// What a handler knows about its connection: how to drop it.
#[derive(Clone, Debug)]
struct Connection {
    dropped: Arc<AtomicBool>,
}

impl Connection {
    /// From now on every read and write on the connection fails, so the server gives it up and
    /// closes the socket without writing the response it is about to produce.
    fn drop_without_answer(&self) {
        self.dropped.store(true, Ordering::SeqCst);
    }
}

impl Listener for PhoneListener {
    type Io = DroppableStream;
    type Addr = Connection;

    async fn accept(&mut self) -> (DroppableStream, Connection) {
        loop {
            match self.0.accept().await {
                Ok((tcp, _)) => {
                    // Small answers must not wait for delayed ACKs: latency is measured through
                    // this server.
                    let _ = tcp.set_nodelay(true);
                    let dropped = Arc::new(AtomicBool::new(false));
                    return (DroppableStream { tcp, dropped: Arc::clone(&dropped) }, Connection { dropped });
                }
                // A client that gave up before being accepted; the next one may be fine.
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::ConnectionRefused
                            | io::ErrorKind::ConnectionAborted
                            | io::ErrorKind::ConnectionReset
                    ) => {}
                // Out of file descriptors and the like: wait for connections to close, as axum does.
                Err(_) => tokio::time::sleep(Duration::from_secs(1)).await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<Connection> {
        self.0.local_addr()?;
        Ok(Connection { dropped: Arc::new(AtomicBool::new(false)) })
    }
}

impl Connected<IncomingStream<'_, PhoneListener>> for Connection {
    fn connect_info(stream: IncomingStream<'_, PhoneListener>) -> Self {
        stream.remote_addr().clone()
    }
}

/// A TCP stream that fails every operation once its [`Connection`] was dropped.
struct DroppableStream {
    tcp: TcpStream,
    dropped: Arc<AtomicBool>,
}

impl DroppableStream {
    fn check(&self) -> io::Result<()> {
        if self.dropped.load(Ordering::SeqCst) {
            return Err(io::Error::new(io::ErrorKind::ConnectionAborted, "the fake phone provider lost this answer"));
        }
        Ok(())
    }
}

impl AsyncRead for DroppableStream {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        self.check()?;
        Pin::new(&mut self.tcp).poll_read(cx, buf)
    }
}

impl AsyncWrite for DroppableStream {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.check()?;
        Pin::new(&mut self.tcp).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.check()?;
        Pin::new(&mut self.tcp).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.check()?;
        Pin::new(&mut self.tcp).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
}

// ---------------------------------------------------------------------------
// The spec
// ---------------------------------------------------------------------------

/// What the Twilio spec allows in the call operations the fake serves.
struct CallSpec {
    /// The create-call form schema.
    properties: HashMap<String, Property>,
    required: Vec<String>,
    /// The update-call form schema.
    update_properties: HashMap<String, Property>,
    /// The list-calls query parameters.
    list_parameters: HashMap<String, Property>,
    /// Every call status the spec knows, for checking scripts.
    statuses: Vec<String>,
}

struct Property {
    kind: Kind,
    allowed: Option<Vec<String>>,
    min_len: Option<usize>,
    max_len: Option<usize>,
    minimum: Option<i64>,
    maximum: Option<i64>,
    /// From patterns shaped like `^AP[0-9a-fA-F]{32}$`: the prefix and the number of hex digits.
    sid_shape: Option<(String, usize)>,
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    String,
    Integer,
    Boolean,
    Array,
    Other,
}

impl CallSpec {
    /// Loaded once per process: the spec is large and every test starts a fake.
    fn get() -> &'static CallSpec {
        static SPEC: OnceLock<CallSpec> = OnceLock::new();
        SPEC.get_or_init(|| CallSpec::load(SPEC_PATH))
    }

    fn load(path: &str) -> CallSpec {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read the Twilio spec {path}: {e}"));
        let doc: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse the Twilio spec {path}: {e}"));
        let form_schema = |path: &str| {
            doc.pointer(&format!(
                "/paths/{}/post/requestBody/content/{}/schema",
                escape_pointer(path),
                escape_pointer(FORM_CONTENT_TYPE)
            ))
            .map(|schema| resolve(&doc, schema))
            .unwrap_or_else(|| panic!("the Twilio spec has no form schema for POST {path}"))
        };
        let properties_of = |schema: &Value| -> HashMap<String, Property> {
            schema
                .get("properties")
                .and_then(Value::as_object)
                .expect("a form schema lists its properties")
                .iter()
                .map(|(name, property)| (name.clone(), Property::from_schema(resolve(&doc, property))))
                .collect()
        };
        let schema = form_schema(SPEC_CREATE_CALL_PATH);
        let properties = properties_of(schema);
        let update_properties = properties_of(form_schema(SPEC_CALL_PATH));
        let list_parameters = doc
            .pointer(&format!("/paths/{}/get/parameters", escape_pointer(SPEC_CREATE_CALL_PATH)))
            .and_then(Value::as_array)
            .unwrap_or_else(|| panic!("the Twilio spec has no parameters for GET {SPEC_CREATE_CALL_PATH}"))
            .iter()
            .map(|parameter| resolve(&doc, parameter))
            .filter(|parameter| parameter.get("in").and_then(Value::as_str) == Some("query"))
            .filter_map(|parameter| {
                let name = parameter.get("name").and_then(Value::as_str)?;
                let schema = parameter.get("schema").map_or(&Value::Null, |schema| resolve(&doc, schema));
                Some((name.to_owned(), Property::from_schema(schema)))
            })
            .collect();
        let required = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|names| names.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default();
        let statuses = doc
            .pointer(&format!("/components/schemas/{SPEC_CALL_STATUS_SCHEMA}/enum"))
            .and_then(Value::as_array)
            .map(|values| values.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_else(|| panic!("the Twilio spec has no {SPEC_CALL_STATUS_SCHEMA}"));
        CallSpec { properties, required, update_properties, list_parameters, statuses }
    }
}

impl Property {
    fn from_schema(schema: &Value) -> Property {
        let kind = match schema.get("type").and_then(Value::as_str) {
            Some("string") => Kind::String,
            Some("integer") => Kind::Integer,
            Some("boolean") => Kind::Boolean,
            Some("array") => Kind::Array,
            _ => Kind::Other,
        };
        let allowed = schema
            .get("enum")
            .and_then(Value::as_array)
            .map(|values| values.iter().filter_map(Value::as_str).map(str::to_owned).collect());
        let length = |key: &str| schema.get(key).and_then(Value::as_u64).and_then(|n| usize::try_from(n).ok());
        let bound = |key: &str| schema.get(key).and_then(Value::as_i64);
        let sid_shape = schema.get("pattern").and_then(Value::as_str).and_then(sid_shape);
        Property {
            kind,
            allowed,
            min_len: length("minLength"),
            max_len: length("maxLength"),
            minimum: bound("minimum"),
            maximum: bound("maximum"),
            sid_shape,
        }
    }
}

/// Follows a local `$ref` (`#/components/...`), if the schema is one.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str).and_then(|target| target.strip_prefix('#')) {
        Some(pointer) => doc.pointer(pointer).unwrap_or(schema),
        None => schema,
    }
}

fn escape_pointer(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// Recognises the spec's SID patterns, `^XX[0-9a-fA-F]{N}$`.
fn sid_shape(pattern: &str) -> Option<(String, usize)> {
    let body = pattern.strip_prefix('^')?.strip_suffix('$')?;
    let (prefix, count) = body.split_once("[0-9a-fA-F]{")?;
    let count = count.strip_suffix('}')?.parse().ok()?;
    prefix.chars().all(|c| c.is_ascii_alphabetic()).then(|| (prefix.to_owned(), count))
}

// ---------------------------------------------------------------------------
// Request handling
// ---------------------------------------------------------------------------

/// A Twilio-style error answer.
struct ApiError {
    status: u16,
    code: u32,
    message: String,
}

impl ApiError {
    fn new(status: u16, code: u32, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into() }
    }

    /// Twilio numbers its generic HTTP errors 20000 + status (20404, 20429, 20500, 20503, ...).
    fn http(status: u16) -> ApiError {
        let message = StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("Error");
        ApiError::new(status, 20_000 + u32::from(status), message)
    }

    fn unauthorized() -> ApiError {
        ApiError::new(401, 20003, "Authenticate")
    }

    fn not_found() -> ApiError {
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
enum Delivery {
    Now,
    After(Duration),
    Never,
}

async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
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
fn authorize(shared: &Shared, what: &str, account: &str, headers: &HeaderMap) -> Result<(), ApiError> {
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

async fn create_call(
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

/// Uses up one of the queued `(remaining requests, what)` entries.
fn take_injected_failure<T: Copy>(queue: &mut VecDeque<(usize, T)>) -> Option<T> {
    let (remaining, what) = queue.front_mut()?;
    let what = *what;
    *remaining -= 1;
    if *remaining == 0 {
        queue.pop_front();
    }
    Some(what)
}

fn fetch_call(shared: &Shared, account: &str, sid: &str, headers: &HeaderMap) -> Result<Response, ApiError> {
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

/// Twilio's list semantics: the account's calls, most recent first, filtered, one page.
fn list_calls(
    shared: &Shared,
    account: &str,
    params: &[(String, String)],
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    authorize(shared, "list calls", account, headers)?;
    if let Some(status) = take_injected_failure(&mut shared.lock().fail_next_lists) {
        return Err(ApiError::http(status));
    }
    let mut query = ListQuery::parse(shared.spec, params);
    if !query.problems.is_empty() {
        let mut state = shared.lock();
        state.violations.extend(query.problems.drain(..).map(|problem| format!("list calls: {problem}")));
    }
    if let Some(error) = query.rejection.take() {
        return Err(error);
    }

    let state = shared.lock();
    let mut matching: Vec<&CallRecord> = state
        .by_sid
        .values()
        .filter(|record| {
            let call = &state.calls[record.index];
            query.to.as_ref().is_none_or(|to| *to == call.to)
                && query.from.as_ref().is_none_or(|from| *from == call.from)
                && query.status.as_ref().is_none_or(|status| *status == record.status)
                // The fake's calls have no parent call.
                && query.parent.is_none()
                && query.started.admits(Some(record.created))
                && query.ended.admits(record.ended)
        })
        .collect();
    matching.sort_unstable_by_key(|record| std::cmp::Reverse((record.created, record.index)));
    let start = query.page.saturating_mul(query.page_size);
    let page: Vec<&CallRecord> = matching.iter().skip(start).take(query.page_size).copied().collect();
    let calls: Vec<Value> =
        page.iter().map(|record| call_resource(&shared.account_sid, &state.calls[record.index], record)).collect();
    let next_page_uri = (start + page.len() < matching.len()).then(|| {
        let last = page.last().map_or("", |record| state.calls[record.index].sid.as_str());
        format!("{}&PageToken=PA{last}", query.page_uri(account, query.page + 1))
    });
    drop(state);

    let body = json!({
        "calls": calls,
        "end": if calls.is_empty() { start } else { start + calls.len() - 1 },
        "first_page_uri": query.page_uri(account, 0),
        "next_page_uri": next_page_uri,
        "page": query.page,
        "page_size": query.page_size,
        "previous_page_uri": (query.page > 0).then(|| query.page_uri(account, query.page - 1)),
        "start": start,
        "uri": query.page_uri(account, query.page),
    });
    Ok(Json(body).into_response())
}

/// Twilio's update semantics: `Status=canceled` ends a call that has not been answered,
/// `Status=completed` ends any call still going; `Twiml` changes what it says.
async fn update_call(
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

/// A list-calls query, checked against the spec and decoded.
struct ListQuery {
    problems: Vec<String>,
    rejection: Option<ApiError>,
    to: Option<String>,
    from: Option<String>,
    status: Option<String>,
    parent: Option<String>,
    started: TimeFilter,
    ended: TimeFilter,
    page_size: usize,
    page: usize,
    /// The filters as given, for the page URIs.
    filters: Vec<(String, String)>,
}

/// `X`, `X<` and `X>` of a time field: on a UTC day, before, on or after.
#[derive(Default)]
struct TimeFilter {
    on: Option<NaiveDate>,
    before: Option<DateTime<Utc>>,
    since: Option<DateTime<Utc>>,
}

impl TimeFilter {
    fn admits(&self, time: Option<DateTime<Utc>>) -> bool {
        if self.on.is_none() && self.before.is_none() && self.since.is_none() {
            return true;
        }
        time.is_some_and(|time| {
            self.on.is_none_or(|day| time.date_naive() == day)
                && self.before.is_none_or(|before| time < before)
                && self.since.is_none_or(|since| time >= since)
        })
    }

    /// Applies one `X` / `X<` / `X>` parameter; `suffix` is "", "<" or ">".
    fn set(&mut self, suffix: &str, value: &str) -> Result<(), String> {
        let (day, moment) = if let Ok(day) = NaiveDate::parse_from_str(value, "%Y-%m-%d") {
            (day, day.and_hms_opt(0, 0, 0).map(|midnight| midnight.and_utc()))
        } else if let Ok(moment) = DateTime::parse_from_rfc3339(value) {
            let moment = moment.with_timezone(&Utc);
            (moment.date_naive(), Some(moment))
        } else {
            let hint = if value.contains(' ') { " (a '+' must be sent as %2B)" } else { "" };
            return Err(format!("{value:?} is neither a date (YYYY-MM-DD) nor an RFC 3339 date-time{hint}"));
        };
        match suffix {
            "<" => self.before = moment,
            ">" => self.since = moment,
            _ => self.on = Some(day),
        }
        Ok(())
    }
}

impl ListQuery {
    fn parse(spec: &CallSpec, params: &[(String, String)]) -> ListQuery {
        let mut query = ListQuery {
            problems: Vec::new(),
            rejection: None,
            to: None,
            from: None,
            status: None,
            parent: None,
            started: TimeFilter::default(),
            ended: TimeFilter::default(),
            page_size: DEFAULT_PAGE_SIZE,
            page: 0,
            filters: Vec::new(),
        };
        let mut seen: Vec<&str> = Vec::new();
        for (name, value) in params {
            if seen.contains(&name.as_str()) {
                query.problems.push(format!("query parameter {name} is given more than once"));
            }
            seen.push(name);
            let Some(property) = spec.list_parameters.get(name) else {
                query.problems.push(format!("query parameter {name:?} is not in the spec's list operation"));
                continue;
            };
            if let Err(problem) = property.check(value) {
                query.problems.push(format!("query parameter {name}={value:?}: {problem}"));
                query.rejection.get_or_insert(ApiError::new(400, 20001, format!("Invalid parameter {name}")));
                continue;
            }
            match name.as_str() {
                "To" | "From" => {
                    if !is_e164(value) {
                        let hint = if value.starts_with(' ') { " (a '+' must be sent as %2B)" } else { "" };
                        query.problems.push(format!("query parameter {name} {value:?} is not an E.164 number{hint}"));
                    }
                    if name == "To" {
                        query.to = Some(value.clone());
                    } else {
                        query.from = Some(value.clone());
                    }
                }
                "Status" => query.status = Some(value.clone()),
                "ParentCallSid" => query.parent = Some(value.clone()),
                "PageSize" => query.page_size = value.parse().unwrap_or(DEFAULT_PAGE_SIZE),
                "Page" => query.page = value.parse().unwrap_or(0),
                "PageToken" => {}
                time => {
                    let (field, suffix) = time.split_at(time.find(['<', '>']).unwrap_or(time.len()));
                    let filter = if field == "EndTime" { &mut query.ended } else { &mut query.started };
                    if let Err(problem) = filter.set(suffix, value) {
                        query.problems.push(format!("query parameter {name}: {problem}"));
                        query.rejection.get_or_insert(ApiError::new(400, 20001, format!("Invalid parameter {name}")));
                    }
                }
            }
            if !matches!(name.as_str(), "PageSize" | "Page" | "PageToken") {
                query.filters.push((name.clone(), value.clone()));
            }
        }
        query
    }

    /// The URI of one page of this list, as Twilio writes it (filters first, encoded).
    fn page_uri(&self, account: &str, page: usize) -> String {
        let mut pairs: Vec<String> = self
            .filters
            .iter()
            .map(|(name, value)| format!("{}={}", percent_encode(name), percent_encode(value)))
            .collect();
        pairs.push(format!("PageSize={}", self.page_size));
        pairs.push(format!("Page={page}"));
        format!("{API_PREFIX}{account}/Calls.json?{}", pairs.join("&"))
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
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

fn content_type(headers: &HeaderMap) -> &str {
    headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or("")
}

/// Compares the media type only (parameters such as `charset` are ignored).
fn has_content_type(headers: &HeaderMap, expected: &str) -> bool {
    content_type(headers).split(';').next().is_some_and(|media| media.trim().eq_ignore_ascii_case(expected))
}

// ---------------------------------------------------------------------------
// Create-call checks
// ---------------------------------------------------------------------------

/// The outcome of checking one create-call request.
#[derive(Default)]
struct CreateCheck {
    problems: Vec<String>,
    /// The first reason Twilio itself would refuse the request.
    rejection: Option<ApiError>,
    to: String,
    from: String,
    twiml: String,
    said: String,
    timeout: Option<u32>,
}

impl CreateCheck {
    fn violation(&mut self, problem: String) {
        self.problems.push(problem);
    }

    fn reject(&mut self, error: ApiError) {
        self.rejection.get_or_insert(error);
    }

    fn check_params(&mut self, spec: &CallSpec, params: &[(String, String)]) {
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for (name, value) in params {
            let count = seen.entry(name.as_str()).or_default();
            *count += 1;
            let Some(property) = spec.properties.get(name) else {
                self.violation(format!("parameter {name:?} is not in the spec's CreateCallRequest"));
                continue;
            };
            if *count == 2 && property.kind != Kind::Array {
                self.violation(format!("parameter {name} is given more than once"));
            }
            if let Err(problem) = property.check(value) {
                self.violation(format!("parameter {name}={value:?}: {problem}"));
                self.reject(ApiError::new(400, 20001, format!("Invalid parameter {name}: {problem}")));
            }
        }
        let first = |name: &str| params.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str());

        for name in &spec.required {
            if first(name).is_none_or(str::is_empty) {
                self.violation(format!("required parameter {name} is missing"));
                let code = match name.as_str() {
                    "To" => 21201,
                    "From" => 21213,
                    _ => 20001,
                };
                self.reject(ApiError::new(400, code, format!("No '{name}' number is specified")));
            }
        }

        self.to = first("To").unwrap_or_default().to_owned();
        self.from = first("From").unwrap_or_default().to_owned();
        for (name, number, code) in [("To", self.to.clone(), 21211), ("From", self.from.clone(), 21212)] {
            if !number.is_empty() && !is_e164(&number) {
                self.violation(format!("{name} {number:?} is not an E.164 number"));
                self.reject(ApiError::new(400, code, format!("Invalid '{name}' Phone Number: {number}")));
            }
        }

        if ["Url", "Twiml", "ApplicationSid"].iter().all(|name| first(name).is_none_or(str::is_empty)) {
            self.violation("none of Url, Twiml or ApplicationSid is given".to_owned());
            self.reject(ApiError::new(400, 21205, "A 'Url', 'Twiml' or 'ApplicationSid' parameter is required"));
        }

        if let Some(twiml) = first("Twiml").filter(|twiml| !twiml.is_empty()) {
            self.twiml = twiml.to_owned();
            self.check_twiml(twiml);
        }

        if let Some(timeout) = first("Timeout") {
            match timeout.parse::<i64>() {
                Ok(seconds) if TIMEOUT_RANGE.contains(&seconds) => self.timeout = u32::try_from(seconds).ok(),
                Ok(seconds) => {
                    self.violation(format!("Timeout {seconds} is outside {TIMEOUT_RANGE:?} seconds"));
                    self.timeout = u32::try_from(seconds).ok();
                }
                // Already reported by the type check.
                Err(_) => {}
            }
        }
    }

    /// Checks an update-call form; returns its `Status` and `Twiml`.
    fn check_update(&mut self, spec: &CallSpec, params: &[(String, String)]) -> (Option<String>, Option<String>) {
        let mut seen: Vec<&str> = Vec::new();
        for (name, value) in params {
            if seen.contains(&name.as_str()) {
                self.violation(format!("parameter {name} is given more than once"));
            }
            seen.push(name);
            let Some(property) = spec.update_properties.get(name) else {
                self.violation(format!("parameter {name:?} is not in the spec's UpdateCallRequest"));
                continue;
            };
            if let Err(problem) = property.check(value) {
                self.violation(format!("parameter {name}={value:?}: {problem}"));
                self.reject(ApiError::new(400, 20001, format!("Invalid parameter {name}: {problem}")));
            }
        }
        if params.is_empty() {
            self.violation("no parameters: the update changes nothing".to_owned());
        }
        let first = |name: &str| params.iter().find(|(key, _)| key == name).map(|(_, value)| value.clone());
        let twiml = first("Twiml").filter(|twiml| !twiml.is_empty());
        if let Some(twiml) = &twiml {
            self.twiml = twiml.clone();
            self.check_twiml(twiml);
            if first("Url").is_some() {
                self.violation("Url and Twiml are mutually exclusive".to_owned());
            }
        }
        (first("Status"), twiml)
    }

    fn check_twiml(&mut self, twiml: &str) {
        let length = twiml.chars().count();
        if length > MAX_TWIML_CHARS {
            self.violation(format!("Twiml is {length} characters long, the limit is {MAX_TWIML_CHARS}"));
        }
        match parse_xml(twiml) {
            Ok(doc) => {
                if doc.root != "Response" {
                    self.violation(format!("Twiml root element is <{}>, expected <Response>", doc.root));
                }
                for say in &doc.says {
                    let chars = say.chars().count();
                    if chars > MAX_SAY_CHARS {
                        self.violation(format!("<Say> text is {chars} characters long, the limit is {MAX_SAY_CHARS}"));
                    }
                    if say.trim().is_empty() {
                        self.violation("<Say> has no text".to_owned());
                    }
                }
                self.said = doc.says.join("\n");
            }
            Err(problem) => self.violation(format!("Twiml is not well-formed XML: {problem}")),
        }
    }
}

impl Property {
    fn check(&self, value: &str) -> Result<(), String> {
        match self.kind {
            Kind::Integer => match value.parse::<i64>() {
                Err(_) => return Err("not an integer".to_owned()),
                Ok(n) if self.minimum.is_some_and(|min| n < min) || self.maximum.is_some_and(|max| n > max) => {
                    return Err(format!("{n} is outside {:?}..={:?}", self.minimum, self.maximum));
                }
                Ok(_) => {}
            },
            Kind::Boolean if !["true", "false"].iter().any(|b| value.eq_ignore_ascii_case(b)) => {
                return Err("not a boolean".to_owned());
            }
            _ => {}
        }
        if let Some(allowed) = &self.allowed
            && !allowed.iter().any(|a| a == value)
        {
            return Err(format!("not one of {allowed:?}"));
        }
        let length = value.chars().count();
        if self.min_len.is_some_and(|min| length < min) || self.max_len.is_some_and(|max| length > max) {
            return Err(format!("length {length} is outside {:?}..={:?}", self.min_len, self.max_len));
        }
        if let Some((prefix, digits)) = &self.sid_shape {
            let fits = value
                .strip_prefix(prefix.as_str())
                .is_some_and(|rest| rest.len() == *digits && rest.bytes().all(|b| b.is_ascii_hexdigit()));
            if !fits {
                return Err(format!("not a {prefix} SID"));
            }
        }
        Ok(())
    }
}

/// `+`, then 8 to 15 digits, the first not 0 (country codes never start with 0).
fn is_e164(number: &str) -> bool {
    number.strip_prefix('+').is_some_and(|digits| {
        (8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) && !digits.starts_with('0')
    })
}

/// Decodes an `application/x-www-form-urlencoded` body into its pairs, keeping repeats and order
/// (array parameters such as `StatusCallbackEvent` repeat their name).
fn parse_form(body: &[u8]) -> Result<Vec<(String, String)>, String> {
    body.split(|&b| b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = match pair.iter().position(|&b| b == b'=') {
                Some(eq) => (&pair[..eq], &pair[eq + 1..]),
                None => (pair, &[][..]),
            };
            Ok((percent_decode(name)?, percent_decode(value)?))
        })
        .collect()
}

fn percent_decode(raw: &[u8]) -> Result<String, String> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = |offset: usize| raw.get(i + offset).and_then(|&b| (b as char).to_digit(16));
                let (Some(high), Some(low)) = (hex(1), hex(2)) else {
                    return Err(format!("bad percent-encoding in {:?}", String::from_utf8_lossy(raw)));
                };
                out.push((high * 16 + low) as u8);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| format!("form field {:?} is not UTF-8", String::from_utf8_lossy(raw)))
}

// ---------------------------------------------------------------------------
// Basic auth
// ---------------------------------------------------------------------------

/// Says what is wrong with the request's credentials, if anything.
fn check_basic_auth(headers: &HeaderMap, user: &str, password: &str) -> Result<(), String> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err("no Authorization header (HTTP basic auth is required)".to_owned());
    };
    let value = value.to_str().map_err(|_| "Authorization header is not ASCII".to_owned())?;
    let credentials = value
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("Basic"))
        .map(|(_, credentials)| credentials.trim())
        .ok_or_else(|| format!("Authorization {value:?} is not HTTP basic auth"))?;
    let decoded = base64_decode(credentials)
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| "basic auth credentials are not valid base64 of UTF-8".to_owned())?;
    let (given_user, given_password) =
        decoded.split_once(':').ok_or_else(|| "basic auth credentials have no ':'".to_owned())?;
    if given_user != user {
        return Err(format!("basic auth user is {given_user:?}, expected the account SID {user:?}"));
    }
    if given_password != password {
        return Err("basic auth password is not the auth token".to_owned());
    }
    Ok(())
}

/// Standard base64 with padding, as RFC 7617 requires.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(4) {
        return None;
    }
    let data = text.trim_end_matches('=');
    if text.len() - data.len() > 2 {
        return None;
    }
    let mut out = Vec::with_capacity(data.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for byte in data.bytes() {
        let sextet = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(sextet);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

// ---------------------------------------------------------------------------
// TwiML well-formedness
// ---------------------------------------------------------------------------

/// What the well-formedness check learned about a document.
struct XmlDoc {
    root: String,
    /// Text of each `<Say>` (markup inside it, such as SSML, left out), entities unescaped.
    says: Vec<String>,
}

/// A small XML well-formedness check: one root element, balanced tags, quoted and unique
/// attributes, `&` only in entity or character references, no text outside the root.
/// DOCTYPE declarations are refused, as the bot never needs one.
fn parse_xml(doc: &str) -> Result<XmlDoc, String> {
    let bytes = doc.as_bytes();
    let mut i = 0;
    let mut stack: Vec<&str> = Vec::new();
    let mut root: Option<String> = None;
    let mut says: Vec<String> = Vec::new();
    // Stack depth of the open <Say>, and its text so far.
    let mut say: Option<(usize, String)> = None;

    if doc.starts_with("<?xml") {
        let end = doc.find("?>").ok_or("unterminated XML declaration")?;
        i = end + 2;
    }
    while i < bytes.len() {
        let rest = &doc[i..];
        if !rest.starts_with('<') {
            let end = rest.find('<').unwrap_or(rest.len());
            let raw = &rest[..end];
            if stack.is_empty() {
                if !raw.trim().is_empty() {
                    return Err(format!("text outside the root element: {:?}", raw.trim()));
                }
            } else {
                let text = unescape(raw)?;
                if let Some((_, said)) = &mut say {
                    said.push_str(&text);
                }
            }
            i += end;
        } else if let Some(body) = rest.strip_prefix("<!--") {
            let end = body.find("-->").ok_or("unterminated comment")?;
            i += 4 + end + 3;
        } else if let Some(body) = rest.strip_prefix("<![CDATA[") {
            if stack.is_empty() {
                return Err("CDATA outside the root element".to_owned());
            }
            let end = body.find("]]>").ok_or("unterminated CDATA section")?;
            if let Some((_, said)) = &mut say {
                said.push_str(&body[..end]);
            }
            i += 9 + end + 3;
        } else if rest.starts_with("<?") {
            let end = rest.find("?>").ok_or("unterminated processing instruction")?;
            if rest.get(2..5).is_some_and(|target| target.eq_ignore_ascii_case("xml")) {
                return Err("XML declaration not at the start of the document".to_owned());
            }
            i += end + 2;
        } else if rest.starts_with("<!") {
            return Err("DOCTYPE and other declarations are not allowed".to_owned());
        } else if let Some(body) = rest.strip_prefix("</") {
            let name = xml_name(body).ok_or("closing tag without a name")?;
            let after = body[name.len()..].trim_start();
            if !after.starts_with('>') {
                return Err(format!("malformed closing tag </{name}"));
            }
            match stack.pop() {
                Some(open) if open == name => {}
                Some(open) => return Err(format!("</{name}> closes <{open}>")),
                None => return Err(format!("</{name}> without an opening tag")),
            }
            if say.as_ref().is_some_and(|(depth, _)| *depth == stack.len() + 1)
                && let Some((_, said)) = say.take()
            {
                says.push(said);
            }
            i += 2 + (body.len() - after.len()) + 1;
        } else {
            let body = &rest[1..];
            let name = xml_name(body).ok_or("'<' that does not start a tag")?;
            if stack.is_empty() && root.is_some() {
                return Err(format!("second root element <{name}>"));
            }
            let mut pos = name.len();
            let mut attributes: Vec<&str> = Vec::new();
            let self_closing = loop {
                let tail = &body[pos..];
                let trimmed = tail.trim_start_matches([' ', '\t', '\r', '\n']);
                let had_space = trimmed.len() < tail.len();
                pos += tail.len() - trimmed.len();
                if trimmed.starts_with('>') {
                    pos += 1;
                    break false;
                }
                if trimmed.starts_with("/>") {
                    pos += 2;
                    break true;
                }
                if trimmed.is_empty() {
                    return Err(format!("unterminated tag <{name}"));
                }
                if !had_space {
                    return Err(format!("attributes of <{name}> must be separated by whitespace"));
                }
                let attribute = xml_name(trimmed).ok_or_else(|| format!("malformed attribute in <{name}>"))?;
                if attributes.contains(&attribute) {
                    return Err(format!("attribute {attribute} repeated in <{name}>"));
                }
                attributes.push(attribute);
                let after = trimmed[attribute.len()..].trim_start();
                let after = after.strip_prefix('=').ok_or_else(|| format!("attribute {attribute} has no value"))?;
                let after = after.trim_start();
                let quote = after
                    .chars()
                    .next()
                    .filter(|c| *c == '"' || *c == '\'')
                    .ok_or_else(|| format!("value of attribute {attribute} is not quoted"))?;
                let value_len =
                    after[1..].find(quote).ok_or_else(|| format!("value of attribute {attribute} is not closed"))?;
                let value = &after[1..1 + value_len];
                if value.contains('<') {
                    return Err(format!("'<' in the value of attribute {attribute}"));
                }
                unescape(value)?;
                pos = body.len() - after.len() + 1 + value_len + 1;
            };
            if root.is_none() {
                root = Some(name.to_owned());
            }
            if self_closing {
                if name == "Say" && say.is_none() {
                    says.push(String::new());
                }
            } else {
                stack.push(name);
                if name == "Say" && say.is_none() {
                    say = Some((stack.len(), String::new()));
                }
            }
            i += 1 + pos;
        }
    }
    if let Some(open) = stack.last() {
        return Err(format!("<{open}> is never closed"));
    }
    let root = root.ok_or("no root element")?;
    Ok(XmlDoc { root, says })
}

/// The XML name at the start of `text` (ASCII rules, any non-ASCII character allowed).
fn xml_name(text: &str) -> Option<&str> {
    let bytes = text.as_bytes();
    let first = *bytes.first()?;
    if !(first.is_ascii_alphabetic() || first == b'_' || first == b':' || first >= 0x80) {
        return None;
    }
    let len = bytes
        .iter()
        .position(|&b| !(b.is_ascii_alphanumeric() || matches!(b, b'_' | b':' | b'-' | b'.') || b >= 0x80))
        .unwrap_or(bytes.len());
    Some(&text[..len])
}

/// Replaces entity and character references; any other `&` is an error.
fn unescape(text: &str) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let end = after.find(';').filter(|end| *end <= 10).ok_or_else(|| bare_ampersand(after))?;
        let reference = &after[..end];
        let decoded = match reference {
            "lt" => '<',
            "gt" => '>',
            "amp" => '&',
            "quot" => '"',
            "apos" => '\'',
            _ => {
                let number = if let Some(hex) = reference.strip_prefix("#x") {
                    hex.bytes().all(|b| b.is_ascii_hexdigit()).then(|| u32::from_str_radix(hex, 16).ok()).flatten()
                } else if let Some(decimal) = reference.strip_prefix('#') {
                    decimal.bytes().all(|b| b.is_ascii_digit()).then(|| decimal.parse().ok()).flatten()
                } else {
                    None
                };
                number.filter(|n| *n != 0).and_then(char::from_u32).ok_or_else(|| bare_ampersand(after))?
            }
        };
        out.push(decoded);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn bare_ampersand(after: &str) -> String {
    let context: String = after.chars().take(12).collect();
    format!("'&' not part of an entity: \"&{context}\"")
}

// ---------------------------------------------------------------------------
// Call resources
// ---------------------------------------------------------------------------

/// A call resource shaped like the spec's `api.v2010.account.call`, as of its current status.
fn call_resource(account: &str, call: &PlacedCall, record: &CallRecord) -> Value {
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

fn splitmix64(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

// ---------------------------------------------------------------------------
// Tests of the fake itself
// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use floorbot::clock::ManualClock;

    const SID: &str = "AC0123456789abcdef0123456789abcdef";
    const TOKEN: &str = "auth-token-for-the-fake";
    const FROM: &str = "+14155550100";
    const ANN: &str = "+8613800138001";
    const BOB: &str = "+8613800138002";

    async fn start() -> (FakePhone, ManualClock) {
        let start = Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).single().expect("valid start time");
        let clock = ManualClock::new(start);
        (FakePhone::start_with_clock(SID, TOKEN, Arc::new(clock.clone())).await, clock)
    }

    fn client() -> reqwest::Client {
        reqwest::Client::builder().timeout(Duration::from_secs(5)).build().expect("HTTP client")
    }

    fn calls_url(phone: &FakePhone) -> String {
        format!("{}{API_PREFIX}{SID}/Calls.json", phone.base_url())
    }

    fn call_url(phone: &FakePhone, sid: &str) -> String {
        format!("{}{API_PREFIX}{SID}/Calls/{sid}.json", phone.base_url())
    }

    fn create_form(to: &str) -> Vec<(&'static str, String)> {
        vec![
            ("To", to.to_owned()),
            ("From", FROM.to_owned()),
            ("Twiml", "<Response><Say>Store 7 is down</Say></Response>".to_owned()),
        ]
    }

    async fn create(phone: &FakePhone, to: &str) -> String {
        let response = client().post(calls_url(phone)).basic_auth(SID, Some(TOKEN)).form(&create_form(to)).send().await;
        let response = response.expect("the fake answers");
        assert_eq!(response.status(), 201);
        let call: Value = response.json().await.expect("a call resource");
        call["sid"].as_str().expect("a call SID").to_owned()
    }

    async fn get(url: &str) -> (u16, Value) {
        let response = client().get(url).basic_auth(SID, Some(TOKEN)).send().await.expect("the fake answers");
        let status = response.status().as_u16();
        (status, response.json().await.expect("a JSON answer"))
    }

    async fn list(phone: &FakePhone, query: &str) -> (u16, Value) {
        get(&format!("{}?{query}", calls_url(phone))).await
    }

    async fn update(phone: &FakePhone, sid: &str, form: &[(&str, &str)]) -> (u16, Value) {
        let response = client().post(call_url(phone, sid)).basic_auth(SID, Some(TOKEN)).form(form).send().await;
        let response = response.expect("the fake answers");
        let status = response.status().as_u16();
        (status, response.json().await.expect("a JSON answer"))
    }

    fn sids(list: &Value) -> Vec<&str> {
        list["calls"].as_array().expect("a list of calls").iter().filter_map(|call| call["sid"].as_str()).collect()
    }

    #[tokio::test]
    async fn calls_are_listed_most_recent_first_filtered_and_paged() {
        let (phone, clock) = start().await;
        phone.script(ANN, &["ringing", "in-progress"]);
        let first = create(&phone, ANN).await;
        clock.advance(chrono::Duration::minutes(5));
        let second = create(&phone, BOB).await;
        clock.advance(chrono::Duration::days(1));
        let third = create(&phone, ANN).await;
        assert_eq!(phone.calls()[2].created, Utc.with_ymd_and_hms(2026, 3, 3, 1, 5, 0).single().expect("valid"));

        let (status, all) = list(&phone, "").await;
        assert_eq!(status, 200);
        assert_eq!(sids(&all), [third.as_str(), &second, &first]);
        assert_eq!(all["calls"][2]["date_created"], json!("Mon, 02 Mar 2026 01:00:00 +0000"));
        assert_eq!(all["page_size"], json!(50));
        assert_eq!(all["end"], json!(2));
        assert_eq!(all["next_page_uri"], Value::Null);
        assert_eq!(all["uri"], json!(format!("{API_PREFIX}{SID}/Calls.json?PageSize=50&Page=0")));

        let (_, to_ann) = list(&phone, "To=%2B8613800138001").await;
        assert_eq!(sids(&to_ann), [third.as_str(), &first]);
        let (_, since) = list(&phone, "To=%2B8613800138001&StartTime%3E=2026-03-03").await;
        assert_eq!(sids(&since), [third.as_str()]);
        let (_, before) = list(&phone, "StartTime%3C=2026-03-02T01:05:00Z").await;
        assert_eq!(sids(&before), [first.as_str()]);
        let (_, on_day) = list(&phone, "StartTime=2026-03-02").await;
        assert_eq!(sids(&on_day), [second.as_str(), &first]);

        // Fetching moves the first call along its script; the list shows the same status.
        assert_eq!(get(&call_url(&phone, &first)).await.1["status"], json!("ringing"));
        let (_, ringing) = list(&phone, "Status=ringing").await;
        assert_eq!(sids(&ringing), [first.as_str()]);
        assert_eq!(ringing["calls"][0]["status"], json!("ringing"));
        let (_, queued) = list(&phone, "Status=queued&PageSize=1").await;
        assert_eq!(sids(&queued), [third.as_str()]);
        assert_eq!(
            queued["next_page_uri"],
            json!(format!("{API_PREFIX}{SID}/Calls.json?Status=queued&PageSize=1&Page=1&PageToken=PA{third}"))
        );
        let (_, page_two) = list(&phone, "Status=queued&PageSize=1&Page=1").await;
        assert_eq!(sids(&page_two), [second.as_str()]);

        let requests = phone.list_requests();
        assert_eq!(requests.len(), 8);
        assert_eq!(requests[2].param("StartTime>"), Some("2026-03-03"));
        assert_eq!(requests[1].param("To"), Some(ANN));
        assert!(phone.violations().is_empty(), "{:?}", phone.violations());
    }

    #[tokio::test]
    async fn list_requests_are_checked_and_can_fail() {
        let (phone, _clock) = start().await;
        create(&phone, ANN).await;
        // A '+' sent as is arrives as a space, and an unknown parameter is ignored by Twilio.
        let (status, body) = list(&phone, "To=+8613800138001&Limit=5").await;
        assert_eq!(status, 200);
        assert!(sids(&body).is_empty());
        assert_eq!(phone.violations().len(), 2, "{:?}", phone.violations());
        assert_eq!(list(&phone, "PageSize=0").await.0, 400);
        assert_eq!(list(&phone, "Status=lost").await.0, 400);
        assert_eq!(list(&phone, "StartTime%3E=yesterday").await.0, 400);
        assert_eq!(phone.violations().len(), 5);

        phone.fail_next_lists(1, 500);
        assert_eq!(list(&phone, "").await.0, 500);
        phone.set_down(true);
        assert_eq!(list(&phone, "").await.0, 503);
        phone.set_down(false);
        assert_eq!(list(&phone, "").await.0, 200);
        let unauthenticated = client().get(calls_url(&phone)).send().await.expect("the fake answers");
        assert_eq!(unauthenticated.status(), 401);
        let statuses: Vec<u16> = phone.list_requests().iter().map(|request| request.status).collect();
        assert_eq!(statuses, [200, 400, 400, 400, 500, 503, 200, 401]);
    }

    #[tokio::test]
    async fn an_update_cancels_or_ends_a_call_for_good() {
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
