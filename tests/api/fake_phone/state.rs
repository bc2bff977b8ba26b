//! What the fake remembers: the calls placed and where each is in its script, the requests
//! served, the failures a test queued, and the count of create requests being held.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use floorbot::clock::Clock;
use serde_json::Value;
use tokio::sync::{Notify, watch};

use super::spec::CallSpec;
use super::{CallUpdate, ListRequest, PlacedCall};

/// Statuses after which a call never changes again.
pub(super) const FINAL_STATUSES: &[&str] = &["completed", "busy", "failed", "no-answer", "canceled"];

pub(super) struct Shared {
    pub(super) account_sid: String,
    pub(super) auth_token: String,
    pub(super) spec: &'static CallSpec,
    /// Where call times come from.
    pub(super) clock: Arc<dyn Clock>,
    pub(super) state: Mutex<PhoneState>,
    /// Woken after every change that a `wait_for_*` may be waiting for.
    pub(super) changed: Notify,
    /// Read on every request, so kept out of the mutex.
    pub(super) down: AtomicBool,
    /// True while create-call requests are held.
    pub(super) hold: watch::Sender<bool>,
    pub(super) default_script: Arc<[String]>,
    pub(super) sid_seed: u64,
    pub(super) next_sid: AtomicU64,
}

#[derive(Default)]
pub(super) struct PhoneState {
    pub(super) calls: Vec<PlacedCall>,
    pub(super) by_sid: HashMap<String, CallRecord>,
    pub(super) scripts: HashMap<String, Arc<[String]>>,
    pub(super) webhook_posts: Vec<(Instant, Value)>,
    /// Injected failures still to apply: (remaining requests, HTTP status).
    pub(super) fail_next: VecDeque<(usize, u16)>,
    pub(super) failed_creates: usize,
    pub(super) status_requests: usize,
    pub(super) list_requests: Vec<ListRequest>,
    pub(super) fail_next_lists: VecDeque<(usize, u16)>,
    pub(super) updates: Vec<CallUpdate>,
    /// Successful creates still to answer by closing the connection.
    pub(super) lose_next: usize,
    /// Successful creates still to answer late: (remaining requests, delay).
    pub(super) delay_next: VecDeque<(usize, Duration)>,
    pub(super) held: usize,
    pub(super) violations: Vec<String>,
}

pub(super) struct CallRecord {
    /// Position in `PhoneState::calls`.
    pub(super) index: usize,
    pub(super) script: Arc<[String]>,
    pub(super) polls: usize,
    /// The status last reported (or set by an update), so that fetch and list agree.
    pub(super) status: String,
    /// Set by an update that hung the call up: the script no longer applies.
    pub(super) hung_up: bool,
    pub(super) created: DateTime<Utc>,
    /// When the status last changed.
    pub(super) updated: DateTime<Utc>,
    /// When the call reached a final status.
    pub(super) ended: Option<DateTime<Utc>>,
}

impl CallRecord {
    pub(super) fn set_status(&mut self, status: &str, now: DateTime<Utc>) {
        if self.status != status {
            self.status = status.to_owned();
            self.updated = now;
        }
        if FINAL_STATUSES.contains(&status) && self.ended.is_none() {
            self.ended = Some(now);
        }
    }

    pub(super) fn is_finished(&self) -> bool {
        FINAL_STATUSES.contains(&self.status.as_str())
    }
}

impl Shared {
    /// A panic elsewhere must not hide what was recorded, so poisoning is ignored.
    pub(super) fn lock(&self) -> MutexGuard<'_, PhoneState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn violation(&self, problem: String) {
        self.lock().violations.push(problem);
    }

    pub(super) fn count_failed_create(&self) {
        self.lock().failed_creates += 1;
    }

    pub(super) fn next_sid(&self) -> String {
        let n = self.next_sid.fetch_add(1, Ordering::Relaxed);
        // The counter half keeps SIDs unique; the mixed half makes them look random.
        format!("CA{:016x}{n:016x}", splitmix64(self.sid_seed ^ n))
    }

    pub(super) async fn wait_until(&self, timeout: Duration, check: impl Fn(&PhoneState) -> bool) -> bool {
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
pub(super) struct HeldGuard<'a>(&'a Shared);

impl<'a> HeldGuard<'a> {
    pub(super) fn new(shared: &'a Shared) -> Self {
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

pub(super) fn splitmix64(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Uses up one of the queued `(remaining requests, what)` entries.
pub(super) fn take_injected_failure<T: Copy>(queue: &mut VecDeque<(usize, T)>) -> Option<T> {
    let (remaining, what) = queue.front_mut()?;
    let what = *what;
    *remaining -= 1;
    if *remaining == 0 {
        queue.pop_front();
    }
    Some(what)
}
