//! Telegram's sending limits as the outbound lane applies them (`[telegram]`). The defaults
//! are Telegram's documented ones; a floor may tighten them.

use std::time::Duration;

/// A rate with a burst allowance.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rate {
    /// Messages per `per`.
    pub count: f64,
    pub per: Duration,
    /// How many may go back to back after a quiet spell.
    pub burst: u32,
}

/// The limits the lane applies.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Limits {
    /// Every chat: about one message a second, short bursts allowed.
    pub per_chat: Rate,
    /// Groups and supergroups: twenty a minute.
    pub per_group: Rate,
    /// The bot as a whole: thirty a second.
    pub overall: Rate,
    /// Edits of one live message are at least this far apart (the first edit after an
    /// acknowledgement or resolution excepted).
    pub edit_spacing: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            per_chat: Rate { count: 1.0, per: Duration::from_secs(1), burst: 5 },
            per_group: Rate { count: 20.0, per: Duration::from_secs(60), burst: 20 },
            overall: Rate { count: 30.0, per: Duration::from_secs(1), burst: 30 },
            edit_spacing: Duration::from_secs(3),
        }
    }
}
