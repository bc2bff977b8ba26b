//! Store anomalies end to end: report, relay, the five-minute call, acknowledgement races,
//! retries, the backup supervisor, duplicates, forms and queries.

use chrono::Duration as Minutes;

use crate::helpers::*;

const FLOOR: &str = "supervisors = [1001, 1002]\n";

fn minutes(n: i64) -> Minutes {
    Minutes::minutes(n)
}

/// The form is tied to its prompt just after the prompt is sent; a person needs longer than
/// that to press a button, a test does not.
async fn wait_for_prompt(app: &TestApp, prompt: &crate::fake_telegram::Recorded) {
    let id = prompt.result["message_id"].as_i64().expect("prompt id");
    eventually("the form to be tied to its prompt", || async {
        let tied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM anomaly_forms WHERE prompt_message_id = ?")
            .bind(id)
            .fetch_one(&app.db)
            .await
            .expect("count");
        (tied > 0).then_some(())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_is_recorded_answered_with_guidance_and_relayed_to_operations() {
    let app = spawn_app_with_phone(FLOOR).await;
    app.set_up_floor().await;
    let (team, relay) = app.report_price_anomaly().await;
    let team_text = text_of(&team);
    assert!(
        team_text.starts_with("已记录，异常编号 <b>#1</b>，正在转给运营。\n接待顾客时：\n1. 先致歉"),
        "{team_text}"
    );
    assert!(team_text.contains("3. 运营确认之前，不承诺任何价格、赠品或补偿。"), "{team_text}");
    assert!(team_text.contains("运营 5 分钟内没有回复的话，会电话通知、私信、在群里提醒值班主管。"), "{team_text}");
    assert!(team_text.contains("🟡 店铺异常 #1 · 等待运营处理"), "{team_text}");
    let relay_text = text_of(&relay);
    assert!(relay_text.starts_with("📣 <b>店铺异常报备</b> · 客服团队「天猫一组」"), "{relay_text}");
    for expected in [
        "店铺：天猫 · 旗舰店",
        "问题：价格错误",
        "描述：A 款连衣裙标价 9.9，应为 99",
        "报备：Alice (@alice_cs) · 09:00",
        "下一步：09:05 仍没人回复的话，电话通知、私信、在群里提醒值班主管",
    ] {
        assert!(relay_text.contains(expected), "relay lacks {expected:?}: {relay_text}");
    }
    let buttons = &relay.body["reply_markup"]["inline_keyboard"][0];
    assert_eq!(buttons[0]["text"], "收到，我来处理");
    assert_eq!(buttons[0]["callback_data"], "ack:1");
    assert_eq!(buttons[1]["callback_data"], "res:1");
    let stored: (String, String, String) =
        sqlx::query_as("SELECT kind, severity, anomaly_kind FROM incidents WHERE id = 1")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(stored, ("store_anomaly".into(), "yellow".into(), "price".into()));
    app.wait_for_count("SELECT COUNT(*) FROM incident_events WHERE kind = 'relayed'", 1).await;
    assert_eq!(app.timeline(1).await, vec!["reported", "relayed"]);
    // Once the relay is out, the agent's message says so.
    let team_id = team.result["message_id"].as_i64().unwrap();
    app.wait_until_shown(TEAM_GROUP.id, team_id, "已转给运营，异常编号 #1。").await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ack_at_four_minutes_fifty_nine_means_no_call_ever() {
    let app = spawn_app_with_phone(FLOOR).await;
    app.set_up_floor().await;
    let (_, relay) = app.report_price_anomaly().await;
    app.advance(Minutes::seconds(299)).await;
    app.click(&OLGA, &relay.result, "ack:1");
    app.wait_for_count("SELECT COUNT(*) FROM incidents WHERE acknowledged_at IS NOT NULL", 1).await;
    app.advance(minutes(30)).await;
    app.settle().await;
    assert!(app.phone().calls().is_empty(), "no call: {:?}", app.phone().calls());
    let pending: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE kind IN ('step', 'call') AND state NOT IN ('cancelled')")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(pending, 0, "every step was cancelled");
    let notice = app.next_text_to(TEAM_GROUP.id).await;
    assert_eq!(notice, "@alice_cs 异常 #1 Olga (@olga_ops) 已收到，正在处理。");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_ack_the_duty_supervisor_gets_exactly_one_call_at_five_minutes() {
    let app = spawn_app_with_phone(FLOOR).await;
    app.set_up_floor().await;
    app.report_price_anomaly().await;
    app.advance(Minutes::seconds(299)).await;
    app.settle().await;
    assert!(app.phone().calls().is_empty(), "nothing before five minutes");
    app.advance(Minutes::seconds(1)).await;
    assert!(app.phone().wait_for_calls(1, WAIT).await, "a call at 5:00");
    app.settle().await;
    let calls = app.phone().calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].to, SAM_PHONE);
    assert_eq!(calls[0].from, TWILIO_FROM);
    assert_eq!(calls[0].timeout, Some(30));
    assert!(
        calls[0].twiml.starts_with("<Response><Say voice=\"Polly.Zhiyu\" language=\"cmn-CN\" loop=\"2\">"),
        "{}",
        calls[0].twiml
    );
    assert_eq!(calls[0].said, "这里是客服值班提醒。店铺异常 1 号，天猫旗舰店，价格错误，运营还没有回复，请尽快处理。");
    let private = app.reply_to_private(&SAM).await;
    assert!(private.starts_with("⚠️ <b>店铺异常 #1</b>：运营 5 分钟未回复\n天猫 · 旗舰店 · 价格错误\n"), "{private}");
    let mention = app.next_text_to(TEAM_GROUP.id).await;
    assert_eq!(mention, "@sam_supervisor 店铺异常 #1 运营 5 分钟未回复，请跟进。");
    // The call was answered ("completed" by default): nothing more for Sam.
    app.advance(Minutes::seconds(2)).await;
    app.settle().await;
    app.advance(Minutes::seconds(30)).await;
    app.settle().await;
    assert_eq!(app.phone().calls().len(), 1);
    let timeline = app.timeline(1).await;
    assert!(timeline.contains(&"call_answered".to_owned()), "{timeline:?}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unanswered_call_is_retried_once_then_the_backup_is_called() {
    let app = spawn_app_with_phone(FLOOR).await;
    app.set_up_floor().await;
    app.phone().script(SAM_PHONE, &["ringing", "no-answer"]);
    app.report_price_anomaly().await;
    app.advance(minutes(5)).await;
    assert!(app.phone().wait_for_calls(1, WAIT).await);
    app.settle().await;
    app.advance(Minutes::seconds(2)).await; // ringing
    app.settle().await;
    app.advance(Minutes::seconds(2)).await; // no-answer → retry due in 1 minute
    app.wait_for_count("SELECT COUNT(*) FROM incident_events WHERE kind = 'call_retry'", 1).await;
    app.advance(minutes(1)).await;
    assert!(app.phone().wait_for_calls(2, WAIT).await, "the retry");
    app.settle().await;
    app.advance(Minutes::seconds(2)).await;
    app.settle().await;
    app.advance(Minutes::seconds(2)).await;
    app.wait_for_count("SELECT COUNT(*) FROM incident_events WHERE kind = 'call_failed'", 2).await;
    app.settle().await;
    assert_eq!(app.phone().calls().len(), 2, "one retry only");
    app.advance(minutes(4)).await; // 10 minutes after the report
    assert!(app.phone().wait_for_calls(3, WAIT).await, "the backup supervisor");
    app.settle().await;
    let to: Vec<String> = app.phone().calls().into_iter().map(|call| call.to).collect();
    assert_eq!(to, vec![SAM_PHONE, SAM_PHONE, SUE_PHONE]);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ack_arriving_while_the_call_is_placed_stops_every_further_call() {
    let app = spawn_app_with_phone(FLOOR).await;
    app.set_up_floor().await;
    app.phone().script(SAM_PHONE, &["no-answer"]);
    let (_, relay) = app.report_price_anomaly().await;
    app.phone().hold_creates();
    app.advance(minutes(5)).await;
    assert!(app.phone().wait_for_held_creates(1, WAIT).await, "the call is being placed");
    app.click(&OLGA, &relay.result, "ack:1");
    app.wait_for_count("SELECT COUNT(*) FROM incidents WHERE acknowledged_at IS NOT NULL", 1).await;
    app.phone().release_creates();
    assert!(app.phone().wait_for_calls(1, WAIT).await);
    app.settle().await;
    for _ in 0..4 {
        app.advance(Minutes::seconds(2)).await;
        app.settle().await;
    }
    app.advance(minutes(20)).await;
    app.settle().await;
    assert_eq!(app.phone().calls().len(), 1, "no retry and no backup call after the ack");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_operations_or_supervisors_may_acknowledge() {
    let app = spawn_app_with_phone(FLOOR).await;
    app.set_up_floor().await;
    let (_, relay) = app.report_price_anomaly().await;
    app.click(&ALICE, &relay.result, "ack:1");
    let answer = eventually("an answer to the click", || async { app.sent("answerCallbackQuery").pop() }).await;
    assert_eq!(answer.body["text"], "只有运营或客服主管可以操作。");
    assert_eq!(answer.body["show_alert"], true);
    let acknowledged: Option<String> =
        sqlx::query_scalar("SELECT acknowledged_at FROM incidents WHERE id = 1").fetch_one(&app.db).await.unwrap();
    assert!(acknowledged.is_none());
    app.say(&ALICE, Chat::Group(TEAM_GROUP), "/ack 1");
    assert_eq!(app.reply_in(TEAM_GROUP).await, "⛔ /ack 仅限运营或客服主管使用。");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledging_edits_both_messages_and_resolving_removes_the_buttons() {
    let app = spawn_app_with_phone(FLOOR).await;
    app.set_up_floor().await;
    let (team, relay) = app.report_price_anomaly().await;
    app.advance(minutes(2)).await;
    app.say(&OLGA, Chat::Group(OPS_GROUP), "/ack 1");
    assert_eq!(app.reply_in(OPS_GROUP).await, "✅ 已收到异常 #1。");
    app.settle().await;
    let relay_id = relay.result["message_id"].as_i64().unwrap();
    let team_id = team.result["message_id"].as_i64().unwrap();
    let relay_now = app.telegram.message(OPS_GROUP.id, relay_id).expect("relay exists");
    let relay_buttons = relay_now["reply_markup"]["inline_keyboard"][0].as_array().cloned().unwrap_or_default();
    assert_eq!(relay_buttons.len(), 1, "only Resolved remains: {relay_buttons:?}");
    assert_eq!(relay_buttons[0]["callback_data"], "res:1");
    assert!(relay_now["text"].as_str().unwrap().contains("Olga (@olga_ops) 已收到（用时 2 分钟）"), "{relay_now}");
    let team_now = app.telegram.message(TEAM_GROUP.id, team_id).expect("team message exists");
    assert!(team_now["text"].as_str().unwrap().contains("🟡 店铺异常 #1 · 处理中"), "{team_now}");

    app.say(&OLGA, Chat::Group(OPS_GROUP), "/resolve 1 价格已改回 99");
    assert_eq!(app.reply_in(OPS_GROUP).await, "✅ 异常 #1 已标记为已处理。");
    app.settle().await;
    let relay_now = app.telegram.message(OPS_GROUP.id, relay_id).expect("relay exists");
    assert!(relay_now.get("reply_markup").is_none(), "no buttons once resolved: {relay_now}");
    assert!(relay_now["text"].as_str().unwrap().contains("已处理 · 09:02 · 价格已改回 99"), "{relay_now}");
    let mut notices = Vec::new();
    for _ in 0..2 {
        notices.push(app.next_text_to(TEAM_GROUP.id).await);
    }
    assert!(notices.contains(&"@alice_cs 异常 #1 已由 Olga (@olga_ops) 处理：价格已改回 99".to_owned()), "{notices:?}");

    // A few seconds later (the group's budget went on the edits and notices just now).
    app.moment().await;
    app.say(&SAM, Chat::Group(TEAM_GROUP), "/incident 1");
    let record = app.reply_in(TEAM_GROUP).await;
    for expected in [
        "<b>异常记录 #1</b>",
        "09:00 Alice (@alice_cs) 报备",
        "09:02 Olga (@olga_ops) 已收到",
        "收到用时：2 分钟",
        "处理用时：2 分钟",
    ] {
        assert!(record.contains(expected), "record lacks {expected:?}: {record}");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_report_of_the_same_problem_joins_the_open_incident() {
    let app = spawn_app_with_phone(FLOOR).await;
    app.set_up_floor().await;
    let (_, relay) = app.report_price_anomaly().await;
    app.say(&BOB, Chat::Group(TEAM_GROUP), "/anomaly 旗舰店 price 顾客也在问价格");
    assert_eq!(app.reply_in(TEAM_GROUP).await, "这个店铺的同类异常 #1 还在处理中，已把你的报备合并进去（+1）。");
    app.settle().await;
    let relays: Vec<_> = app
        .sent("sendMessage")
        .into_iter()
        .filter(|m| m.body["chat_id"].as_i64() == Some(OPS_GROUP.id) && text_of(m).contains("店铺异常报备"))
        .collect();
    assert_eq!(relays.len(), 1, "one relay: {relays:#?}");
    let relay_id = relay.result["message_id"].as_i64().unwrap();
    app.wait_until_shown(OPS_GROUP.id, relay_id, "+1 报备：Bob · 09:00").await;
    let steps: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE kind = 'step'").fetch_one(&app.db).await.unwrap();
    assert_eq!(steps, 3, "one chain");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_stores_and_kinds_get_the_valid_ones() {
    let app = spawn_app_with_phone(FLOOR).await;
    app.set_up_floor().await;
    app.say(&ALICE, Chat::Group(TEAM_GROUP), "/anomaly 杂货铺 价格 不对");
    assert_eq!(app.reply_in(TEAM_GROUP).await, "没有找到店铺「杂货铺」。本团队的店铺：\n• 天猫 · 旗舰店");
    app.say(&ALICE, Chat::Group(TEAM_GROUP), "/anomaly 旗舰店 天气 不对");
    assert!(app.reply_in(TEAM_GROUP).await.starts_with("没有「天气」这个类型。可选：优惠券、价格、库存、页面、其他"));
    let incidents: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM incidents").fetch_one(&app.db).await.unwrap();
    assert_eq!(incidents, 0);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_description_with_html_is_escaped_cut_in_the_relay_and_whole_in_the_record() {
    let app = spawn_app_with_phone(FLOOR).await;
    app.set_up_floor().await;
    // With the record's header and timeline this is over 4,096 characters: two messages.
    let description = format!("<b>优惠券</b> & \"满减\" {}", "错".repeat(4030));
    app.say(&ALICE, Chat::Group(TEAM_GROUP), &format!("/anomaly 旗舰店 优惠券 {description}"));
    app.next_message_to(TEAM_GROUP.id).await;
    let relay = text_of(&app.next_message_to(OPS_GROUP.id).await);
    assert!(relay.contains("描述：&lt;b&gt;优惠券&lt;/b&gt; &amp; &quot;满减&quot; 错"), "{relay}");
    assert!(relay.contains("…\n全文：/incident 1"), "{relay}");
    app.say(&SAM, Chat::Group(TEAM_GROUP), "/incident 1");
    let first = app.reply_in(TEAM_GROUP).await;
    let second = app.reply_in(TEAM_GROUP).await;
    let whole = format!("{first}\n{second}");
    // The header names the kind, 优惠券设置错误, which has one more 错.
    assert_eq!(whole.matches('错').count(), 4030 + 1, "nothing cut");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_provider_calls_are_skipped_visibly_and_the_rest_of_the_chain_runs() {
    let app = spawn_app_with(FLOOR).await;
    app.set_up_floor().await;
    app.report_price_anomaly().await;
    app.advance(minutes(5)).await;
    let private = app.reply_to_private(&SAM).await;
    assert!(private.starts_with("⚠️ <b>店铺异常 #1</b>"), "{private}");
    app.settle().await;
    app.wait_for_count("SELECT COUNT(*) FROM incident_events WHERE kind = 'call_no_provider'", 1).await;
    app.wait_for_count("SELECT COUNT(*) FROM incident_events WHERE kind = 'mentioned'", 1).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_provider_is_down_the_call_is_retried_until_it_gets_through() {
    let app = spawn_app_with_phone(FLOOR).await;
    app.set_up_floor().await;
    app.phone().set_down(true);
    app.report_price_anomaly().await;
    app.advance(minutes(5)).await;
    app.wait_for_count("SELECT COUNT(*) FROM incident_events WHERE kind = 'call_error'", 1).await;
    assert!(app.phone().failed_creates() >= 1);
    app.phone().set_down(false);
    app.advance(Minutes::seconds(15)).await;
    assert!(app.phone().wait_for_calls(1, WAIT).await, "placed once the provider is back");
    app.settle().await;
    assert_eq!(app.phone().calls()[0].to, SAM_PHONE);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_form_asks_step_by_step_and_only_its_owner_fills_it_in() {
    let app = spawn_app_with_phone(FLOOR).await;
    app.set_up_floor().await;
    app.say(&ALICE, Chat::Group(TEAM_GROUP), "/anomaly");
    let pick_store = app.next_message_to(TEAM_GROUP.id).await;
    assert_eq!(text_of(&pick_store), "哪个店铺出了问题？");
    wait_for_prompt(&app, &pick_store).await;
    let store_button =
        pick_store.body["reply_markup"]["inline_keyboard"][0][0]["callback_data"].as_str().unwrap().to_owned();
    app.moment().await;
    app.click(&BOB, &pick_store.result, &store_button);
    app.click(&ALICE, &pick_store.result, &store_button);
    let pick_kind = app.next_message_to(TEAM_GROUP.id).await;
    assert_eq!(text_of(&pick_kind), "天猫 · 旗舰店 —— 是什么问题？");
    wait_for_prompt(&app, &pick_kind).await;
    app.moment().await;
    app.click(&ALICE, &pick_kind.result, "af:k:stock");
    let describe = app.next_message_to(TEAM_GROUP.id).await;
    assert!(text_of(&describe).starts_with("天猫 · 旗舰店 · 库存异常\n请<b>回复本消息</b>"));
    wait_for_prompt(&app, &describe).await;
    assert_eq!(describe.body["reply_markup"]["force_reply"], true);
    app.moment().await;
    // Bob's reply to Alice's prompt does not fill her form.
    app.say_replying(&BOB, Chat::Group(TEAM_GROUP), "我来写", Some(&describe.result));
    app.say_replying(&ALICE, Chat::Group(TEAM_GROUP), "显示有货，仓库实际已售罄", Some(&describe.result));
    let team = text_of(&app.next_message_to(TEAM_GROUP.id).await);
    assert!(team.contains("描述：显示有货，仓库实际已售罄"), "{team}");
    let reporter: i64 =
        sqlx::query_scalar("SELECT reporter_id FROM incidents WHERE id = 1").fetch_one(&app.db).await.unwrap();
    assert_eq!(reporter, ALICE.id);
    let popups: Vec<_> = app.sent("answerCallbackQuery");
    assert!(popups.iter().any(|p| p.body["text"] == "这不是你的报备表单，或已过期。"), "{popups:#?}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unfinished_form_expires_after_five_minutes_without_side_effects() {
    let app = spawn_app_with_phone(FLOOR).await;
    app.set_up_floor().await;
    app.say(&ALICE, Chat::Group(TEAM_GROUP), "/anomaly 旗舰店");
    let prompt = app.next_message_to(TEAM_GROUP.id).await;
    assert_eq!(text_of(&prompt), "天猫 · 旗舰店 —— 是什么问题？");
    wait_for_prompt(&app, &prompt).await;
    app.advance(minutes(5)).await;
    app.settle().await;
    let prompt_now = app.telegram.message(TEAM_GROUP.id, prompt.result["message_id"].as_i64().unwrap()).unwrap();
    assert!(prompt_now["text"].as_str().unwrap().starts_with("⌛ 报备表单 5 分钟未完成，已过期"), "{prompt_now}");
    let forms: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM anomaly_forms").fetch_one(&app.db).await.unwrap();
    let incidents: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM incidents").fetch_one(&app.db).await.unwrap();
    assert_eq!((forms, incidents), (0, 0));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anomalies_lists_the_open_ones_with_age_and_state() {
    let app = spawn_app_with_phone(FLOOR).await;
    app.set_up_floor().await;
    app.report_price_anomaly().await;
    app.say(&ALICE, Chat::Group(TEAM_GROUP), "/anomaly 旗舰店 库存 显示有货实际缺货");
    app.next_message_to(TEAM_GROUP.id).await;
    assert!(app.next_text_to(OPS_GROUP.id).await.contains("#2"), "the second relay");
    app.advance(minutes(3)).await;
    app.say(&OLGA, Chat::Group(OPS_GROUP), "/ack 2");
    assert_eq!(app.next_text_to(OPS_GROUP.id).await, "✅ 已收到异常 #2。");
    app.say(&SAM, Chat::Private, "/anomalies");
    assert_eq!(
        app.reply_to_private(&SAM).await,
        "<b>未关闭的异常</b>（2 个）\n#1 店铺异常 · 天猫 · 旗舰店 · 价格错误 · 3 分钟前报备 · 等待运营处理\n#2 店铺异常 · 天猫 · 旗舰店 · 库存异常 · 3 分钟前报备 · 处理中"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_to_one_person_never_overlap_and_waiting_ones_merge() {
    let app = spawn_app_with_phone(FLOOR).await;
    app.set_up_floor().await;
    app.phone().script(SAM_PHONE, &["ringing", "ringing", "no-answer"]);
    app.report_price_anomaly().await;
    app.advance(Minutes::seconds(30)).await;
    for (kind, text) in [("库存", "B 款显示有货实际缺货"), ("优惠券", "满 200 减 100 设置成了满 20 减 100")]
    {
        app.say(&ALICE, Chat::Group(TEAM_GROUP), &format!("/anomaly 旗舰店 {kind} {text}"));
        app.next_message_to(OPS_GROUP.id).await;
    }
    app.advance(Minutes::seconds(270)).await; // 5:00 for the first
    assert!(app.phone().wait_for_calls(1, WAIT).await);
    app.settle().await;
    app.advance(Minutes::seconds(30)).await; // 5:30: the other two are due while Sam's phone rings
    app.settle().await;
    assert_eq!(app.phone().calls().len(), 1, "no second call while the first rings");
    for _ in 0..3 {
        app.advance(Minutes::seconds(2)).await;
        app.settle().await;
    }
    assert!(app.phone().wait_for_calls(2, WAIT).await, "the waiting calls go out together");
    let calls = app.phone().calls();
    assert_eq!(calls[0].said, "这里是客服值班提醒。店铺异常 1 号，天猫旗舰店，价格错误，运营还没有回复，请尽快处理。");
    assert_eq!(calls[1].said, "这里是客服值班提醒。有 2 个异常等待处理，编号 2、3，请尽快处理。");
    assert_eq!(calls[1].to, SAM_PHONE);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_that_reaches_nobody_is_skipped_and_recorded() {
    let config = r#"
supervisors = [1001, 1002]
[escalation]
chain = [
  { after = "1m", actions = ["mention"], target = "role:it" },
  { after = "2m", actions = ["private"], target = "duty" },
]
"#;
    let app = spawn_app_with_phone(config).await;
    app.set_up_floor().await;
    let (_, relay) = app.report_price_anomaly().await;
    assert!(text_of(&relay).contains("下一步：09:01 仍没人回复的话，在群里提醒全体IT"), "{}", text_of(&relay));
    app.advance(minutes(1)).await;
    app.wait_for_count("SELECT COUNT(*) FROM incident_events WHERE kind = 'step_nobody'", 1).await;
    app.advance(minutes(1)).await;
    let private = app.reply_to_private(&SAM).await;
    assert!(private.starts_with("⚠️ <b>店铺异常 #1</b>：运营 2 分钟未回复"), "{private}");
    app.settle().await;
    assert!(app.phone().calls().is_empty(), "this chain calls nobody");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_webhook_provider_receives_the_call_as_json() {
    let config = r#"
supervisors = [1001, 1002]
[phone]
provider = "webhook"
webhook_url = "{phone}/webhook"
"#;
    let app = spawn_app_with_phone(config).await;
    app.set_up_floor().await;
    app.report_price_anomaly().await;
    app.advance(minutes(5)).await;
    assert!(app.phone().wait_for_webhook_posts(1, WAIT).await);
    app.settle().await;
    let posts = app.phone().webhook_posts();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0]["to"], SAM_PHONE);
    assert_eq!(posts[0]["incident"], 1);
    assert!(posts[0]["text"].as_str().unwrap().contains("店铺异常 1 号"), "{}", posts[0]);
    assert!(app.phone().calls().is_empty(), "nothing went to Twilio");
    app.wait_for_count("SELECT COUNT(*) FROM incident_events WHERE kind = 'call_placed'", 1).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_message_that_cannot_be_delivered_is_recorded_and_the_chain_goes_on() {
    let config = r#"
supervisors = [1001, 1002]
[escalation]
chain = [
  { after = "1m", actions = ["private"], target = "duty" },
  { after = "2m", actions = ["mention"], target = "duty" },
]
"#;
    let app = spawn_app_with_phone(config).await;
    app.set_up_floor().await;
    app.report_price_anomaly().await;
    app.settle().await;
    app.telegram.fail_next("sendMessage", 403, "Forbidden: bot can't initiate conversation with a user", None);
    app.advance(minutes(1)).await;
    app.wait_for_count("SELECT COUNT(*) FROM incident_events WHERE kind = 'private_failed'", 1).await;
    app.advance(minutes(1)).await;
    let mention = app.next_text_to(TEAM_GROUP.id).await;
    assert_eq!(mention, "@sam_supervisor 店铺异常 #1 运营 2 分钟未回复，请跟进。");
    app.say(&SAM, Chat::Group(TEAM_GROUP), "/incident 1");
    let record = app.reply_in(TEAM_GROUP).await;
    assert!(record.contains("私信 Sam (@sam_supervisor) 失败（对方还没私聊过我）"), "{record}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn someone_without_a_username_is_mentioned_by_a_link_to_their_id() {
    let config = r#"
supervisors = [1001]
[escalation]
chain = [ { after = "1m", actions = ["mention"], target = "duty" } ]
"#;
    let app = spawn_app_with_phone(config).await;
    app.set_up_floor().await;
    let bobs = app.say(&BOB, Chat::Group(TEAM_GROUP), "收到");
    app.say_replying(&SAM, Chat::Group(TEAM_GROUP), "/role add supervisor", Some(&bobs));
    assert_eq!(app.reply_in(TEAM_GROUP).await, "✅ Bob 现在是客服主管。");
    app.say(&BOB, Chat::Group(TEAM_GROUP), "/duty");
    assert!(app.reply_in(TEAM_GROUP).await.starts_with("✅ Bob 现在是值班主管。"));
    app.report_price_anomaly().await;
    app.advance(minutes(1)).await;
    let mention = app.next_text_to(TEAM_GROUP.id).await;
    assert_eq!(mention, "<a href=\"tg://user?id=2002\">Bob</a> 店铺异常 #1 运营 1 分钟未回复，请跟进。");
    app.stop().await;
}
