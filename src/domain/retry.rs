//! How long to wait before trying again, as pure arithmetic: Telegram requests, jobs that
//! failed, and a phone provider that was unreachable all back off by doubling up to a cap.

use std::time::Duration;

/// Doubling waits from `first` up to `max`, for at most `attempts` tries in all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// Tries in all (the first one included); 0 means keep trying.
    pub attempts: u32,
    pub first: Duration,
    pub max: Duration,
}

impl Backoff {
    /// The wait after the `failures`-th failure (counted from 1), or None when no try is left.
    pub fn after(&self, failures: u32) -> Option<Duration> {
        if self.attempts != 0 && failures >= self.attempts {
            return None;
        }
        let factor = 2_u32.saturating_pow(failures.saturating_sub(1).min(16));
        Some(self.first.saturating_mul(factor).min(self.max))
    }
}

/// Telegram requests: six tries, from one second up to thirty.
pub const TELEGRAM: Backoff = Backoff { attempts: 6, first: Duration::from_secs(1), max: Duration::from_secs(30) };

/// A job whose work failed (Telegram down, a busy database): tried again from ten seconds up
/// to five minutes, never dropped.
pub const JOB: Backoff = Backoff { attempts: 0, first: Duration::from_secs(10), max: Duration::from_secs(300) };

/// A phone provider that did not answer: the call stays due, from fifteen seconds up to five
/// minutes, until it gets through or the incident is acknowledged.
pub const PROVIDER: Backoff = Backoff { attempts: 0, first: Duration::from_secs(15), max: Duration::from_secs(300) };

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_and_are_capped() {
        let backoff = Backoff { attempts: 6, first: Duration::from_secs(1), max: Duration::from_secs(5) };
        let waits: Vec<u64> =
            (1..=5).filter_map(|failures| backoff.after(failures)).map(|wait| wait.as_secs()).collect();
        assert_eq!(waits, vec![1, 2, 4, 5, 5]);
        assert_eq!(backoff.after(6), None, "six tries in all");
    }

    #[test]
    fn jobs_and_calls_keep_trying() {
        assert_eq!(JOB.after(1), Some(Duration::from_secs(10)));
        assert_eq!(JOB.after(100), Some(Duration::from_secs(300)));
        let provider: Vec<u64> = (1..=6).filter_map(|n| PROVIDER.after(n)).map(|wait| wait.as_secs()).collect();
        assert_eq!(provider, vec![15, 30, 60, 120, 240, 300]);
    }
}
