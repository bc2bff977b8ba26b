//! The outbound lane end to end, against a fake that applies Telegram's limits to sends and
//! edits alike on the same clock as the bot: escalations go before queued replies, bursts of
//! reports merge into digests whose buttons act on the right report, and a whole anomaly's
//! life edits its messages only when something changed. Every test ends with the fake's check
//! that nothing was refused for going over a limit or for changing nothing.

use chrono::Duration as Span;

use crate::fake_telegram::Recorded;
use crate::helpers::*;

const FLOOR: &str = "supervisors = [1001, 1002]\n";

/// Every text the bot sent to `chat_id` (as sent) and every message there as it shows now.
fn texts_in(app: &TestApp, chat_id: i64) -> Vec<String> {
    app.sent("sendMessage")
        .iter()
        .filter(|sent| sent.body["chat_id"].as_i64() == Some(chat_id))
        .flat_map(|sent| {
            let id = sent.result["message_id"].as_i64().unwrap_or_default();
            [text_of(sent), app.shown(chat_id, id)]
        })
        .collect()
}

/// Whether report `number` shows anywhere in the chat.
fn shows_report(texts: &[String], number: i64) -> bool {
    let needle = format!("#{number}</b>");
    let plain = format!("#{number} ");
    texts.iter().any(|text| text.contains(&needle) || text.contains(&plain))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_is_not_delayed_behind_twenty_queued_replies() {
    let app = spawn_app_with_phone(FLOOR).await;
    app.set_up_floor().await;
    // Twenty questions in the cross-department group at once: its budget sends a few answers
    // now and queues the rest.
    for _ in 0..20 {
        app.say(&OLGA, Chat::Group(OPS_GROUP), "/whoami");
    }
    assert!(app.telegram.wait_updates_consumed(WAIT).await);
    eventually("the first answers", || async { (app.telegram.sends_and_edits_in(OPS_GROUP.id) >= 5).then_some(()) })
        .await;
    // Updates of one chat are handled one at a time, so the next answer waits for the budget
    // and the others behind it wait for their turn to be handled.
    eventually("the next answer to wait", || async { (app.lane.waiting(OPS_GROUP.id) == 1).then_some(()) }).await;
    let before = app.telegram.sends_and_edits_in(OPS_GROUP.id);
    assert_eq!(before, 5, "a burst of five, then one a second");

    app.say(&ALICE, Chat::Group(TEAM_GROUP), "/anomaly 旗舰店 价格 A 款连衣裙标价 9.9，应为 99");
    // The relay joins the answer waiting for the group's budget.
    eventually("the relay to wait in the lane", || async { (app.lane.waiting(OPS_GROUP.id) == 2).then_some(()) }).await;
    app.advance(Span::seconds(1)).await;
    let next = eventually("the next message in the group", || async {
        let sent: Vec<Recorded> = app
            .sent("sendMessage")
            .into_iter()
            .filter(|sent| sent.body["chat_id"].as_i64() == Some(OPS_GROUP.id))
            .collect();
        sent.get(before).cloned()
    })
    .await;
    assert!(text_of(&next).starts_with("📣 <b>店铺异常报备</b>"), "the relay goes first: {}", text_of(&next));
    app.stop().await;
}

/// Lets the clock run a second at a time until `done`; returns the seconds it took. Jobs
/// waiting for their turn in the lane stay running until the clock moves on, so this waits
/// for the bot to catch up rather than for every job to finish.
async fn catch_up_until(app: &TestApp, done: impl Fn(&TestApp) -> bool) -> i64 {
    let mut seconds = 0;
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        if done(app) {
            return seconds;
        }
        assert!(seconds < 120, "still not done after {seconds} s");
        app.advance(Span::seconds(1)).await;
        seconds += 1;
    }
}

/// Files `count` reports from the team, `per_second` of them each second of the clock.
async fn report_burst(app: &TestApp, count: i64, per_second: i64) {
    for number in 1..=count {
        let kind = ["价格", "库存", "优惠券", "页面", "其他"][usize::try_from(number % 5).unwrap_or(0)];
        app.say(
            &ALICE,
            Chat::Group(TEAM_GROUP),
            &format!("/anomaly 旗舰店{number:02} {kind} 第 {number} 个问题，顾客在问"),
        );
        if number % per_second == 0 {
            app.advance(Span::seconds(1)).await;
        }
    }
}

/// Adds stores 旗舰店01…旗舰店NN, so every report of a burst is a separate incident.
async fn add_stores(app: &TestApp, count: i64) {
    for number in 1..=count {
        sqlx::query(
            "INSERT INTO stores (team_id, platform, name, created_at) VALUES (1, 'tmall', ?, '2026-03-02T01:00:00Z')",
        )
        .bind(format!("旗舰店{number:02}"))
        .execute(&app.db)
        .await
        .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forty_reports_in_five_seconds_are_all_visible_within_a_minute_and_calls_run_on_time() {
    let app = spawn_app_with_phone(FLOOR).await;
    app.set_up_floor().await;
    add_stores(&app, 40).await;
    report_burst(&app, 40, 8).await;
    app.wait_for_count("SELECT COUNT(*) FROM incidents", 40).await;
    let waited = 5 + catch_up_until(&app, |app| {
        let (ops, team) = (texts_in(app, OPS_GROUP.id), texts_in(app, TEAM_GROUP.id));
        (1..=40).all(|number| shows_report(&ops, number) && shows_report(&team, number))
    })
    .await;
    assert!(waited <= 60, "after {waited} s some reports were still not visible");
    assert_eq!(app.telegram.too_many_requests(), 0);
    let ops_messages =
        app.sent("sendMessage").iter().filter(|sent| sent.body["chat_id"].as_i64() == Some(OPS_GROUP.id)).count();
    assert!(ops_messages < 40, "bursts merged into digests: {ops_messages} messages for 40 reports");

    // The first report's five minutes are up: the duty supervisor's phone rings on time.
    let due = app.report_time(1).await + Span::minutes(5);
    app.advance(due - floorbot::clock::Clock::now(&app.clock)).await;
    assert!(app.phone().wait_for_calls(1, WAIT).await, "the call at 5:00");
    let call = &app.phone().calls()[0];
    assert_eq!(call.created, due);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_digest_button_acknowledges_its_own_report_and_the_digest_shows_it() {
    let app = spawn_app_with_phone(FLOOR).await;
    app.set_up_floor().await;
    add_stores(&app, 12).await;
    report_burst(&app, 12, 12).await;
    app.wait_for_count("SELECT COUNT(*) FROM incidents", 12).await;
    catch_up_until(&app, |app| (1..=12).all(|number| shows_report(&texts_in(app, OPS_GROUP.id), number))).await;
    let digest = app
        .sent("sendMessage")
        .into_iter()
        .find(|sent| sent.body["chat_id"].as_i64() == Some(OPS_GROUP.id) && text_of(sent).contains("条</b>"))
        .expect("a digest in the cross-department group");
    let buttons: Vec<String> = digest.body["reply_markup"]["inline_keyboard"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|row| row.as_array().unwrap().iter().map(|b| b["callback_data"].as_str().unwrap().to_owned()))
        .collect();
    assert!(buttons.len() >= 2, "{buttons:?}");
    let chosen = buttons[1].clone();
    let number: i64 = chosen.trim_start_matches("ack:").parse().expect("an acknowledge button");

    app.click(&OLGA, &digest.result, &chosen);
    app.wait_for_count("SELECT COUNT(*) FROM incidents WHERE acknowledged_at IS NOT NULL", 1).await;
    let acknowledged: Vec<i64> = sqlx::query_scalar("SELECT id FROM incidents WHERE acknowledged_at IS NOT NULL")
        .fetch_all(&app.db)
        .await
        .unwrap();
    assert_eq!(acknowledged, vec![number], "the button of #{number} acknowledges #{number} only");
    let digest_id = digest.result["message_id"].as_i64().unwrap();
    let shown = app.wait_until_shown(OPS_GROUP.id, digest_id, "Olga 处理中").await;
    let line = shown
        .lines()
        .find(|line| line.contains(&format!("#{number}</b>")) || line.contains(&format!("#{number} ")))
        .unwrap_or_default();
    assert!(line.contains("Olga 处理中"), "{shown}");
    let keyboard = app.telegram.message(OPS_GROUP.id, digest_id).unwrap()["reply_markup"].clone();
    assert!(keyboard.to_string().contains(&format!("res:{number}")), "{keyboard}");
    assert!(!keyboard.to_string().contains(&format!("\"ack:{number}\"")), "{keyboard}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_anomaly_edits_its_messages_only_when_something_changed() {
    let app = spawn_app_with_phone(FLOOR).await;
    app.set_up_floor().await;
    app.phone().script(SAM_PHONE, &["ringing", "no-answer"]);
    let (team, relay) = app.report_price_anomaly().await;
    for _ in 0..3 {
        app.moment().await;
        app.settle().await;
    }
    app.advance(Span::minutes(5)).await; // step 1: call, private message, mention
    for _ in 0..5 {
        app.moment().await;
        app.settle().await;
    }
    app.click(&OLGA, &relay.result, "ack:1");
    app.wait_for_count("SELECT COUNT(*) FROM incidents WHERE acknowledged_at IS NOT NULL", 1).await;
    app.moment().await;
    app.settle().await;
    app.say(&OLGA, Chat::Group(OPS_GROUP), "/resolve 1 已改回 99 元");
    app.wait_for_count("SELECT COUNT(*) FROM incidents WHERE resolved_at IS NOT NULL", 1).await;
    for _ in 0..3 {
        app.moment().await;
        app.settle().await;
    }
    let team_id = team.result["message_id"].as_i64().unwrap();
    let relay_id = relay.result["message_id"].as_i64().unwrap();
    for (chat, id, sent) in [(TEAM_GROUP.id, team_id, &team), (OPS_GROUP.id, relay_id, &relay)] {
        let edits = app.telegram.edits_of(chat, id);
        let mut previous = (text_of(sent), sent.body["reply_markup"].clone());
        for edit in &edits {
            let now = (text_of(edit), edit.body["reply_markup"].clone());
            assert_ne!(now, previous, "an edit that changes nothing");
            previous = now;
        }
        assert!(previous.0.contains("已处理"), "the message ends resolved: {}", previous.0);
        // The relay going out (in the team message), progress, the call's outcome, the
        // acknowledgement and the resolution; renders that came while an edit was spaced out
        // merged into the next one.
        assert!((3..=6).contains(&edits.len()), "{} edits of {chat}/{id}", edits.len());
        assert!(edits.iter().any(|edit| text_of(edit).contains("店铺异常 #1 · 处理中")), "the acknowledgement showed");
    }
    app.stop().await;
}
