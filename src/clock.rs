//! The clock every part of floorbot reads time from.
//!
//! Domain code never calls `Utc::now()` or sleeps on its own: it asks a [`Clock`]. Production
//! uses [`SystemClock`]; tests use [`ManualClock`] and move it forward, so "five minutes later"
//! happens instantly and deterministically.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use tokio::sync::Notify;

/// A boxed future, so that `Clock` stays usable as `Arc<dyn Clock>`.
pub type WaitFuture<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// A source of the current time, and a way to wait until a moment on that same time line.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;

    /// Resolves once `now() >= deadline`. Waiting on the clock's own time line (not tokio's)
    /// is what lets a test jump minutes ahead.
    fn sleep_until(&self, deadline: DateTime<Utc>) -> WaitFuture<'_>;
}

/// Wall-clock time for production.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn sleep_until(&self, deadline: DateTime<Utc>) -> WaitFuture<'_> {
        Box::pin(async move {
            // Re-check after each sleep: the wall clock may jump (NTP), and a long sleep is
            // better cut into pieces than trusted blindly.
            loop {
                let left = deadline - Utc::now();
                let Ok(left) = left.to_std() else { return };
                if left.is_zero() {
                    return;
                }
                tokio::time::sleep(left.min(std::time::Duration::from_secs(60))).await;
            }
        })
    }
}

/// A clock that only moves when told to. Cloning shares the same time.
#[derive(Clone)]
pub struct ManualClock {
    inner: Arc<ManualInner>,
}

struct ManualInner {
    now: Mutex<DateTime<Utc>>,
    moved: Notify,
}

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        Self { inner: Arc::new(ManualInner { now: Mutex::new(start), moved: Notify::new() }) }
    }

    /// Moves time forward and wakes everything waiting on this clock.
    pub fn advance(&self, by: chrono::Duration) {
        {
            let mut now = self.lock();
            *now += by;
        }
        self.inner.moved.notify_waiters();
    }

    /// Sets the time (forward or back) and wakes every waiter.
    pub fn set(&self, to: DateTime<Utc>) {
        *self.lock() = to;
        self.inner.moved.notify_waiters();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, DateTime<Utc>> {
        // A poisoned lock only means a test thread panicked; the time itself is still valid.
        self.inner.now.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.lock()
    }

    fn sleep_until(&self, deadline: DateTime<Utc>) -> WaitFuture<'_> {
        Box::pin(async move {
            loop {
                let moved = self.inner.moved.notified();
                tokio::pin!(moved);
                // Register interest before checking, so an advance between the check and the
                // await is not missed.
                moved.as_mut().enable();
                if self.now() >= deadline {
                    return;
                }
                moved.await;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[tokio::test]
    async fn manual_clock_wakes_sleepers_when_advanced_past_their_deadline() {
        let start = Utc.with_ymd_and_hms(2026, 1, 5, 6, 0, 0).single().expect("valid date");
        let clock = ManualClock::new(start);
        let sleeper = {
            let clock = clock.clone();
            tokio::spawn(async move { clock.sleep_until(start + chrono::Duration::minutes(5)).await })
        };
        clock.advance(chrono::Duration::minutes(4));
        tokio::task::yield_now().await;
        assert!(!sleeper.is_finished());
        clock.advance(chrono::Duration::minutes(1));
        tokio::time::timeout(std::time::Duration::from_secs(5), sleeper)
            .await
            .expect("sleeper woke")
            .expect("sleeper task ran");
        assert_eq!(clock.now(), start + chrono::Duration::minutes(5));
    }
}
