//! Telegram's sending budgets as pure arithmetic on the injected clock.
//!
//! Each budget is a generic cell rate algorithm (GCRA): a steady rate with a burst on top,
//! remembered as one "theoretical arrival time". The lane asks every budget a message draws
//! on (the chat's, the group's, the bot's overall one) when it could go, and charges them
//! all at once only when all allow it — a check that cannot charge one budget and then fail
//! on another, which is why this is not a general-purpose limiter crate.

use chrono::{DateTime, Duration, Utc};

pub use crate::config::limits::{Limits, Rate};

/// The GCRA's two numbers for a rate: the spacing the steady rate asks for, and how far
/// ahead of it a burst may run.
fn interval(rate: &Rate) -> Duration {
    let nanos = rate.per.as_nanos() as f64 / rate.count.max(f64::MIN_POSITIVE);
    Duration::nanoseconds(nanos.min(i64::MAX as f64) as i64)
}

fn tolerance(rate: &Rate) -> Duration {
    interval(rate) * i32::try_from(rate.burst.saturating_sub(1)).unwrap_or(i32::MAX)
}

/// One budget's state.
#[derive(Clone, Copy, Debug, Default)]
pub struct Budget {
    /// When the next message would be "on time" at the steady rate; None when unused.
    theoretical_arrival: Option<DateTime<Utc>>,
}

impl Budget {
    /// The earliest moment a message may go under `rate` (now or later).
    pub fn ready_at(&self, rate: &Rate, now: DateTime<Utc>) -> DateTime<Utc> {
        match self.theoretical_arrival {
            Some(arrival) => (arrival - tolerance(rate)).max(now),
            None => now,
        }
    }

    /// Charges one message sent at `now` (which must not be before `ready_at`).
    pub fn charge(&mut self, rate: &Rate, now: DateTime<Utc>) {
        let base = self.theoretical_arrival.map_or(now, |arrival| arrival.max(now));
        self.theoretical_arrival = Some(base + interval(rate));
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(seconds: f64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).single().expect("valid")
            + Duration::milliseconds((seconds * 1000.0) as i64)
    }

    /// Sends as fast as the budget allows, returning the send times.
    fn drain(rate: &Rate, count: usize) -> Vec<DateTime<Utc>> {
        let mut budget = Budget::default();
        let mut now = at(0.0);
        let mut times = Vec::new();
        for _ in 0..count {
            now = budget.ready_at(rate, now);
            budget.charge(rate, now);
            times.push(now);
        }
        times
    }

    #[test]
    fn a_burst_goes_at_once_then_the_steady_rate_follows() {
        let rate = Rate { count: 1.0, per: std::time::Duration::from_secs(1), burst: 3 };
        let times = drain(&rate, 5);
        assert_eq!(times, vec![at(0.0), at(0.0), at(0.0), at(1.0), at(2.0)]);
    }

    #[test]
    fn twenty_a_minute_means_one_every_three_seconds_after_the_burst() {
        let times = drain(&Limits::default().per_group, 22);
        assert_eq!(times[19], at(0.0));
        assert_eq!(times[20], at(3.0));
        assert_eq!(times[21], at(6.0));
    }

    #[test]
    fn a_quiet_spell_restores_the_burst() {
        let rate = Rate { count: 1.0, per: std::time::Duration::from_secs(1), burst: 2 };
        let mut budget = Budget::default();
        budget.charge(&rate, at(0.0));
        budget.charge(&rate, at(0.0));
        assert_eq!(budget.ready_at(&rate, at(0.0)), at(1.0));
        assert_eq!(budget.ready_at(&rate, at(10.0)), at(10.0));
        budget.charge(&rate, at(10.0));
        assert_eq!(budget.ready_at(&rate, at(10.0)), at(10.0), "a full burst again");
    }
}
