//! Telegram's flood limits: the limiter that charges each send or edit to its chat, its
//! group and all chats together, and refuses it when one of them is spent.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::RateLimits;

/// Methods that post or change a message, and so count against Telegram's flood limits.
pub(super) const CHARGED_METHODS: &[&str] = &[
    "sendMessage",
    "sendDocument",
    "sendPhoto",
    "sendMediaGroup",
    "copyMessage",
    "forwardMessage",
    "editMessageText",
    "editMessageCaption",
    "editMessageReplyMarkup",
    "editMessageMedia",
];

/// Theoretical arrival times (GCRA) of every flood budget, and the requests refused so far.
#[derive(Default)]
pub(super) struct Limiter {
    chats: HashMap<i64, DateTime<Utc>>,
    groups: HashMap<i64, DateTime<Utc>>,
    global: Option<DateTime<Utc>>,
    /// 429s per chat (0 for requests without a chat).
    pub(super) refusals: HashMap<i64, usize>,
}

/// One GCRA budget: one request per `interval`, `tolerance` ahead of that pace at most.
#[derive(Clone, Copy)]
struct Budget {
    interval: chrono::Duration,
    tolerance: chrono::Duration,
}

impl Budget {
    fn new(per_second: f64, burst: u32, slack: Duration) -> Budget {
        let interval = chrono::Duration::nanoseconds((1e9 / per_second).round() as i64);
        let slack = chrono::Duration::from_std(slack).unwrap_or(chrono::Duration::MAX);
        Budget { interval, tolerance: interval * (burst.max(1) - 1) as i32 + slack }
    }

    /// The budget's next theoretical arrival time if a request at `now` is allowed, or how
    /// long that request would have to wait.
    fn admit(self, tat: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Result<DateTime<Utc>, chrono::Duration> {
        let tat = tat.map_or(now, |tat| tat.max(now));
        let allowed_from = tat - self.tolerance;
        if now < allowed_from { Err(allowed_from - now) } else { Ok(tat + self.interval) }
    }
}

impl Limiter {
    /// Charges one request to `chat_id`'s budget, its group's (negative ids) and the global
    /// one, all or none. On refusal, returns how long until all three would allow it.
    pub(super) fn acquire(
        &mut self,
        limits: &RateLimits,
        chat_id: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<(), chrono::Duration> {
        let chat = Budget::new(limits.per_chat_per_second, limits.per_chat_burst, limits.slack);
        let group = Budget::new(limits.group_per_minute / 60.0, limits.group_burst, limits.slack);
        let global = Budget::new(limits.global_per_second, limits.global_burst, limits.slack);
        let outcomes = [
            chat_id.map(|id| chat.admit(self.chats.get(&id).copied(), now)),
            chat_id.filter(|id| *id < 0).map(|id| group.admit(self.groups.get(&id).copied(), now)),
            Some(global.admit(self.global, now)),
        ];
        let wait = outcomes.iter().flatten().filter_map(|outcome| outcome.err()).max();
        if let Some(wait) = wait {
            return Err(wait);
        }
        let [chat_tat, group_tat, global_tat] = outcomes.map(|outcome| outcome.and_then(Result::ok));
        if let (Some(id), Some(tat)) = (chat_id, chat_tat) {
            self.chats.insert(id, tat);
        }
        if let (Some(id), Some(tat)) = (chat_id, group_tat) {
            self.groups.insert(id, tat);
        }
        self.global = global_tat.or(self.global);
        Ok(())
    }
}

/// Whole seconds to wait, rounded up, at least 1: Telegram never says `retry_after: 0`.
pub(super) fn retry_after_secs(wait: chrono::Duration) -> u64 {
    let nanos = wait.num_nanoseconds().unwrap_or(i64::MAX).max(0) as u64;
    nanos.div_ceil(1_000_000_000).max(1)
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn a_chat_gets_a_burst_of_five_then_one_message_a_second() {
        use super::super::test_client::{PRIVATE, millis, send, start};
        use serde_json::json;

        let (telegram, clock) = start().await;
        for i in 0..5 {
            assert_eq!(send(&telegram, PRIVATE, &format!("m{i}")).await.0, 200, "message {i} is within the burst");
        }
        let (status, body) = send(&telegram, PRIVATE, "one too many").await;
        assert_eq!(status, 429);
        assert_eq!(
            body,
            json!({
                "ok": false,
                "error_code": 429,
                "description": "Too Many Requests: retry after 1",
                "parameters": { "retry_after": 1 },
            })
        );
        assert_eq!(telegram.too_many_requests(), 1);
        assert_eq!(telegram.too_many_requests_in(PRIVATE), 1);
        assert_eq!(telegram.too_many_requests_in(PRIVATE + 1), 0);
        assert_eq!(telegram.violations(), vec![format!("sendMessage to {PRIVATE}: over Telegram's rate limit")]);
        assert_eq!(telegram.failed_requests().len(), 1);
        assert_eq!(telegram.sends_and_edits_in(PRIVATE), 5);

        // Another chat has its own budget.
        assert_eq!(send(&telegram, PRIVATE + 1, "elsewhere").await.0, 200);
        // The slack lets the sixth through half a second early.
        clock.advance(millis(499));
        assert_eq!(send(&telegram, PRIVATE, "still too early").await.0, 429);
        clock.advance(millis(1));
        assert_eq!(send(&telegram, PRIVATE, "now").await.0, 200);
        assert_eq!(send(&telegram, PRIVATE, "and not again").await.0, 429);
        clock.advance(millis(1000));
        assert_eq!(send(&telegram, PRIVATE, "a second later").await.0, 200);
        assert_eq!(telegram.too_many_requests_in(PRIVATE), 3);
    }

    #[tokio::test]
    async fn a_group_gets_twenty_messages_a_minute_and_everyone_thirty_a_second() {
        use super::super::RateLimits;
        use super::super::test_client::{GROUP, PRIVATE, millis, send, start};
        use serde_json::json;
        use std::time::Duration;

        let (telegram, clock) = start().await;
        // Without slack, bursts are exact (half a second of slack is fifteen more global requests).
        let loose_chats = RateLimits {
            per_chat_per_second: 1000.0,
            per_chat_burst: 1000,
            slack: Duration::ZERO,
            ..RateLimits::default()
        };
        telegram.set_limits(Some(loose_chats));
        for i in 0..20 {
            assert_eq!(send(&telegram, GROUP, &format!("g{i}")).await.0, 200, "group message {i}");
        }
        let (status, body) = send(&telegram, GROUP, "21st").await;
        assert_eq!(status, 429);
        // One every 3 s.
        assert_eq!(body["parameters"]["retry_after"], json!(3));
        // Private chats have no group budget.
        for i in 0..9 {
            assert_eq!(send(&telegram, PRIVATE, &format!("p{i}")).await.0, 200, "private message {i}");
        }
        // 29 sent: one left in the global burst, for any chat.
        assert_eq!(send(&telegram, PRIVATE + 1, "30th").await.0, 200);
        let (status, body) = send(&telegram, PRIVATE + 2, "31st").await;
        assert_eq!(status, 429);
        assert_eq!(body["parameters"]["retry_after"], json!(1));
        assert_eq!(telegram.too_many_requests(), 2);
        assert_eq!(telegram.too_many_requests_in(PRIVATE + 2), 1);

        clock.advance(millis(2999));
        assert_eq!(send(&telegram, GROUP, "too early").await.0, 429);
        clock.advance(millis(1));
        assert_eq!(send(&telegram, GROUP, "after the wait").await.0, 200);
    }

    #[tokio::test]
    async fn a_refused_request_charges_nothing_and_changes_nothing() {
        use super::super::RateLimits;
        use super::super::test_client::{PRIVATE, call, millis, send, start};
        use serde_json::json;

        let (telegram, clock) = start().await;
        telegram.set_limits(Some(RateLimits { per_chat_burst: 2, ..RateLimits::default() }));
        let (_, sent) = send(&telegram, PRIVATE, "first").await;
        let message_id = sent["result"]["message_id"].as_i64().expect("a message id");
        let edit = |text: &str| json!({ "chat_id": PRIVATE, "message_id": message_id, "text": text });
        assert_eq!(call(&telegram, "editMessageText", edit("second")).await.0, 200);
        let (status, _) = call(&telegram, "editMessageText", edit("third")).await;
        assert_eq!(status, 429);
        assert_eq!(telegram.message(PRIVATE, message_id).expect("stored")["text"], json!("second"));

        // Injected failures win over the limits and are not counted as 429s from them.
        telegram.fail_next("editMessageText", 500, "Internal Server Error", None);
        assert_eq!(call(&telegram, "editMessageText", edit("third")).await.0, 500);
        // Methods that neither send nor edit are free.
        for _ in 0..10 {
            assert_eq!(call(&telegram, "getMe", json!({})).await.0, 200);
            let answer = json!({ "callback_query_id": "cbq-1" });
            assert_eq!(call(&telegram, "answerCallbackQuery", answer).await.0, 200);
        }
        assert_eq!(telegram.too_many_requests(), 1);

        // Without limits anything goes; budgets used before stay used.
        telegram.set_limits(None);
        for i in 0..10 {
            assert_eq!(send(&telegram, PRIVATE, &format!("unlimited {i}")).await.0, 200);
        }
        telegram.set_limits(Some(RateLimits::default()));
        clock.advance(millis(500));
        assert_eq!(send(&telegram, PRIVATE, "limited again").await.0, 200);
        assert_eq!(telegram.too_many_requests(), 1);
    }
}
