//! Phone calls that stop when acknowledged and are never placed twice: a ringing call hung
//! up, a merged call narrowed to what is still open, a call whose answer was lost found and
//! followed, an interrupted one looked up before it is placed again, and a runner that sleeps
//! while a phone rings.

use chrono::Duration as Span;
use floorbot::clock::Clock;

use crate::helpers::*;

const FLOOR: &str = "supervisors = [1001, 1002]\n";

fn minutes(n: i64) -> Span {
    Span::minutes(n)
}

/// Keeps the phone ringing for as long as any test here looks.
const RINGING: &[&str] = &["ringing"; 60];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ringing_call_is_hung_up_when_operations_acknowledges() {
    let app = spawn_app_with_phone(FLOOR).await;
    app.set_up_floor().await;
    app.phone().script(SAM_PHONE, RINGING);
    let (_, relay) = app.report_price_anomaly().await;
    app.advance(minutes(5)).await;
    assert!(app.phone().wait_for_calls(1, WAIT).await);
    app.settle().await;
    app.advance(Span::seconds(2)).await;
    app.settle().await;
    let sid = app.phone().calls()[0].sid.clone();
    assert_eq!(app.phone().status_of(&sid).as_deref(), Some("ringing"));

    app.click(&OLGA, &relay.result, "ack:1");
    app.wait_for_count("SELECT COUNT(*) FROM incident_events WHERE kind = 'call_cancelled'", 1).await;
    let updates = app.phone().updates();
    assert_eq!(updates.len(), 1, "{updates:?}");
    assert_eq!((updates[0].sid.as_str(), updates[0].status.as_deref()), (sid.as_str(), Some("canceled")));
    assert_eq!(app.phone().status_of(&sid).as_deref(), Some("canceled"));

    // Nothing more: no retry of the cancelled call, no backup supervisor.
    for _ in 0..3 {
        app.advance(Span::seconds(2)).await;
        app.settle().await;
    }
    app.advance(minutes(10)).await;
    app.settle().await;
    assert_eq!(app.phone().calls().len(), 1);
    let timeline = app.timeline(1).await;
    assert!(!timeline.contains(&"call_failed".to_owned()), "{timeline:?}");
    assert!(!timeline.contains(&"call_retry".to_owned()), "{timeline:?}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merged_call_keeps_going_for_the_open_anomaly_and_speaks_only_of_it() {
    let app = spawn_app_with_phone(FLOOR).await;
    app.set_up_floor().await;
    app.phone().script(SAM_PHONE, &["ringing", "ringing", "no-answer"]);
    app.report_price_anomaly().await;
    app.advance(Span::seconds(30)).await;
    let mut relays = Vec::new();
    for (kind, text) in [("库存", "B 款显示有货实际缺货"), ("优惠券", "满 200 减 100 设置成了满 20 减 100")]
    {
        app.say(&ALICE, Chat::Group(TEAM_GROUP), &format!("/anomaly 旗舰店 {kind} {text}"));
        relays.push(app.next_message_to(OPS_GROUP.id).await);
    }
    app.advance(Span::seconds(270)).await; // 5:00 for the first
    assert!(app.phone().wait_for_calls(1, WAIT).await);
    app.settle().await;
    app.advance(Span::seconds(30)).await; // #2 and #3 are due while Sam's phone rings
    app.settle().await;
    for _ in 0..3 {
        app.advance(Span::seconds(2)).await;
        app.settle().await;
    }
    assert!(app.phone().wait_for_calls(2, WAIT).await, "the waiting calls go out together");
    let call = app.phone().calls()[1].clone();
    assert!(call.said.contains("有 2 个异常等待处理，编号 2、3"), "{}", call.said);

    app.click(&OLGA, &relays[0].result, "ack:2");
    let updates = eventually("the call to change", || async {
        let updates = app.phone().updates();
        (!updates.is_empty()).then_some(updates)
    })
    .await;
    assert_eq!(updates[0].sid, call.sid);
    assert_eq!(updates[0].status, None, "the call keeps going");
    let said = updates[0].said.clone().unwrap_or_default();
    assert!(said.contains("店铺异常 3 号") && !said.contains("2 号"), "{said}");
    assert!(matches!(app.phone().status_of(&call.sid).as_deref(), Some("queued" | "ringing")));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_whose_answer_was_lost_is_found_at_the_provider_and_not_placed_twice() {
    let app = spawn_app_with_phone(FLOOR).await;
    app.set_up_floor().await;
    app.phone().lose_next_create_responses(1);
    app.report_price_anomaly().await;
    app.advance(minutes(5)).await;
    app.wait_for_count("SELECT COUNT(*) FROM incident_events WHERE kind = 'call_error'", 1).await;
    assert_eq!(app.phone().calls().len(), 1, "Twilio placed it all the same");

    app.advance(Span::seconds(15)).await;
    app.wait_for_count("SELECT COUNT(*) FROM incident_events WHERE kind = 'call_placed'", 1).await;
    let lookups = app.phone().list_requests();
    assert_eq!(lookups.len(), 1);
    assert_eq!(lookups[0].param("To"), Some(SAM_PHONE));
    app.advance(Span::seconds(2)).await;
    app.wait_for_count("SELECT COUNT(*) FROM incident_events WHERE kind = 'call_answered'", 1).await;
    assert_eq!(app.phone().calls().len(), 1, "adopted, not placed again");
    let detail: Option<String> = sqlx::query_scalar("SELECT detail FROM incident_events WHERE kind = 'call_placed'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(detail, None, "not marked as possibly repeated");
    app.stop().await;
}

/// As if the process died after marking the call "placing" but before Twilio answered.
async fn interrupt_a_call(app: &mut TestApp) {
    app.report_price_anomaly().await;
    app.settle().await;
    sqlx::query(
        "INSERT INTO jobs (kind, incident_id, person_id, due_at, state, attempted_at, created_at, updated_at)
         VALUES ('call', 1, ?, ?, 'placing', ?, ?, ?)",
    )
    .bind(SAM.id)
    .bind(app.clock.now())
    .bind(app.clock.now())
    .bind(app.clock.now())
    .bind(app.clock.now())
    .execute(&app.db)
    .await
    .unwrap();
    app.restart(FLOOR).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_call_the_provider_never_placed_is_placed_after_a_look() {
    let mut app = spawn_app_with_phone(FLOOR).await;
    app.set_up_floor().await;
    interrupt_a_call(&mut app).await;
    assert!(app.phone().wait_for_calls(1, WAIT).await, "placed");
    app.wait_for_count("SELECT COUNT(*) FROM incident_events WHERE kind = 'call_placed'", 1).await;
    assert_eq!(app.phone().list_requests().len(), 1, "looked first");
    let repeated: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM incident_events WHERE detail = 'possibly-repeated'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(repeated, 0, "the look showed it was not placed");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_look_itself_fails_the_call_is_placed_and_marked_possibly_repeated() {
    let mut app = spawn_app_with_phone(FLOOR).await;
    app.set_up_floor().await;
    app.phone().fail_next_lists(1, 500);
    interrupt_a_call(&mut app).await;
    assert!(app.phone().wait_for_calls(1, WAIT).await, "placed again");
    app.wait_for_count(
        "SELECT COUNT(*) FROM incident_events WHERE kind = 'call_placed' AND detail = 'possibly-repeated'",
        1,
    )
    .await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runner_sleeps_while_a_call_rings_and_the_next_one_waits() {
    let app = spawn_app_with_phone(FLOOR).await;
    app.set_up_floor().await;
    app.phone().script(SAM_PHONE, RINGING);
    app.report_price_anomaly().await;
    app.advance(Span::seconds(10)).await;
    app.say(&ALICE, Chat::Group(TEAM_GROUP), "/anomaly 旗舰店 库存 B 款显示有货实际缺货");
    app.next_message_to(OPS_GROUP.id).await;
    app.advance(Span::seconds(290)).await; // 5:00 for the first
    assert!(app.phone().wait_for_calls(1, WAIT).await);
    app.advance(Span::seconds(10)).await; // the second is due while the first rings
    app.settle().await;
    let waiting: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE kind = 'call' AND state = 'pending'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(waiting, 1, "one call waits for the ringing one");
    let before = app.runner_wakeups.load(std::sync::atomic::Ordering::Relaxed);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let woke = app.runner_wakeups.load(std::sync::atomic::Ordering::Relaxed) - before;
    assert!(woke <= 2, "the runner woke {woke} times in 300 ms with nothing it could do");
    assert_eq!(app.phone().calls().len(), 1);
    app.stop().await;
}
