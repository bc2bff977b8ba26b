//! Scenario 1, `/help` latency: from pushing the command into the fake to the reply's
//! `sendMessage` arriving there, on an idle lane, back to back, and at 30 commands a second.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::db::database;
use crate::fake_telegram::{FakeTelegram, Recorded, private_chat_json, text_message_update, user_json};
use crate::support::{Env, Fakes, ms_between};
use crate::{Bot, REPLY_WAIT, Stats, chat_of, finish, show, wait_until};

/// Runs the three `/help` series; returns the idle one, which has a target.
pub(crate) async fn help_latency(env: &Env) -> anyhow::Result<Stats> {
    let fakes = Fakes::start().await;
    let url = database(env, "help").await?.1;
    let mut bot = Bot::start(env, "help", "supervisors = [1001]\n", &url, &fakes).await?;
    let outcome = help_series(&mut bot, &fakes.telegram).await;
    finish("/help", bot, fakes).await;
    outcome
}

async fn help_series(bot: &mut Bot, telegram: &FakeTelegram) -> anyhow::Result<Stats> {
    // (a) One command every 50 ms, each from a new private chat.
    let pushed = push_help_paced(telegram, 200_000, 200, Duration::from_millis(50)).await;
    let idle = reply_latencies(bot, telegram, &pushed).await?;
    show("/help idle lane (200, 50 ms apart)", idle.line());
    settle().await;

    // (b) The next command as soon as the previous reply arrived.
    let mut pushed = Vec::new();
    for i in 0..200 {
        let user = 210_000 + i;
        let from = telegram.requests().len();
        pushed.push(push_help(telegram, user));
        telegram.wait_for(from, REPLY_WAIT, |request| is_send_to(request, user)).await;
        bot.check_alive()?;
    }
    show("/help back to back (200)", reply_latencies(bot, telegram, &pushed).await?.line());
    settle().await;

    // (c) 30 a second for 10 s across 300 private chats.
    let pushed = push_help_paced(telegram, 220_000, 300, Duration::from_secs(1) / 30).await;
    show("/help at 30/s over 300 chats (10 s)", reply_latencies(bot, telegram, &pushed).await?.line());
    Ok(idle)
}

/// Lets the bot's overall sending budget (30 a second, bursts of 30) refill between series.
async fn settle() {
    tokio::time::sleep(Duration::from_secs(2)).await;
}

/// Pushes `/help` from `count` private chats (users `first_user`, `first_user + 1`, …), one
/// every `interval` on a fixed schedule, whatever the replies do.
async fn push_help_paced(
    telegram: &FakeTelegram,
    first_user: i64,
    count: u32,
    interval: Duration,
) -> Vec<(i64, Instant)> {
    let start = Instant::now();
    let mut pushed = Vec::new();
    for i in 0..count {
        tokio::time::sleep_until((start + interval * i).into()).await;
        pushed.push(push_help(telegram, first_user + i64::from(i)));
    }
    pushed
}

/// Pushes `/help` from `user`'s private chat; returns the chat and when it was pushed.
fn push_help(telegram: &FakeTelegram, user: i64) -> (i64, Instant) {
    let from = user_json(user, "Agent", None, Some("zh-hans"));
    let update = text_message_update(telegram.next_message_id(user), &private_chat_json(&from), &from, "/help", None);
    let at = Instant::now();
    telegram.push_update(update);
    (user, at)
}

/// Waits for a reply in every pushed chat; the latency of each is from its push to the first
/// `sendMessage` to that chat arriving at the fake.
async fn reply_latencies(bot: &mut Bot, telegram: &FakeTelegram, pushed: &[(i64, Instant)]) -> anyhow::Result<Stats> {
    let pushed: HashMap<i64, Instant> = pushed.iter().copied().collect();
    let deadline = Instant::now() + REPLY_WAIT;
    wait_until(bot, deadline, async || {
        (first_sends(&telegram.requests(), &pushed).len() == pushed.len()).then_some(())
    })
    .await?;
    let replied = first_sends(&telegram.requests(), &pushed);
    let latencies = replied.iter().map(|(chat, at)| ms_between(pushed[chat], *at)).collect();
    Ok(Stats::of(latencies, pushed.len() - replied.len()))
}

fn first_sends(requests: &[Recorded], chats: &HashMap<i64, Instant>) -> HashMap<i64, Instant> {
    let mut first = HashMap::new();
    for request in requests.iter().filter(|request| request.method == "sendMessage") {
        if let Some(chat) = chat_of(request).filter(|chat| chats.contains_key(chat)) {
            first.entry(chat).or_insert(request.at);
        }
    }
    first
}

fn is_send_to(request: &Recorded, chat: i64) -> bool {
    request.method == "sendMessage" && chat_of(request) == Some(chat)
}
