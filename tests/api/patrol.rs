//! The morning patrol end to end: posting on schedule, ticking, findings routed by severity,
//! the store account step, N/A reasons, reminder and deadline, completion, restarts, custom
//! steps, bad input, and daylight-saving time.

use chrono::{Duration as Span, TimeZone, Utc};
use floorbot::clock::Clock;
use serde_json::Value;

use crate::helpers::*;

const FLOOR: &str = "supervisors = [1001, 1002]\n";

/// The clock starts at 09:00 in Shanghai on Monday 2026-03-02; binding then posts nothing
/// today, so the first patrol is Tuesday's at 08:30 (00:30 UTC).
async fn until_tuesday_patrol(app: &TestApp) -> i64 {
    let target = Utc.with_ymd_and_hms(2026, 3, 3, 0, 30, 0).single().expect("valid");
    let by = target - app.clock.now();
    app.advance(by).await;
    let posted = app.next_text_to(TEAM_GROUP.id).await;
    assert!(posted.starts_with("🗒 <b>日常巡店</b>"), "{posted}");
    app.wait_for_count("SELECT COUNT(*) FROM patrols WHERE message_id IS NOT NULL", 1).await;
    sqlx::query_scalar("SELECT id FROM patrols ORDER BY id DESC LIMIT 1").fetch_one(&app.db).await.expect("a patrol")
}

async fn checklist(app: &TestApp, patrol: i64) -> Value {
    let message_id: i64 = sqlx::query_scalar("SELECT message_id FROM patrols WHERE id = ?")
        .bind(patrol)
        .fetch_one(&app.db)
        .await
        .expect("message");
    app.telegram.message(TEAM_GROUP.id, message_id).expect("the checklist exists")
}

/// The callback data of the checklist button whose label is `label`.
fn button(message: &Value, label: &str) -> String {
    for row in message["reply_markup"]["inline_keyboard"].as_array().cloned().unwrap_or_default() {
        for button in row.as_array().cloned().unwrap_or_default() {
            if button["text"] == label {
                return button["callback_data"].as_str().unwrap_or_default().to_owned();
            }
        }
    }
    panic!("no button {label:?} on {message}")
}

/// `who` taps a checklist button, a few seconds after the last thing that happened.
async fn press(app: &TestApp, who: &Person, patrol: i64, label: &str) {
    app.moment().await;
    let message = checklist(app, patrol).await;
    app.click(who, &message, &button(&message, label));
}

/// Waits until the checklist shows `needle`. A few seconds pass first: edits of one message
/// are spaced, so a tick shows once the previous edit is a few seconds old.
async fn wait_for_text(app: &TestApp, patrol: i64, needle: &str) -> String {
    app.moment().await;
    eventually(&format!("the checklist to show {needle:?}"), || async {
        let text = checklist(app, patrol).await["text"].as_str().unwrap_or_default().to_owned();
        text.contains(needle).then_some(text)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_checklist_is_posted_at_eight_thirty_local_and_ticked_by_several_people() {
    let app = spawn_app_with_phone(FLOOR).await;
    app.set_up_floor().await;
    let posted: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM patrols").fetch_one(&app.db).await.unwrap();
    assert_eq!(posted, 0, "binding at 09:00 posts nothing late for today");
    let patrol = until_tuesday_patrol(&app).await;
    let message = checklist(&app, patrol).await;
    let text = message["text"].as_str().unwrap();
    assert!(
        text.starts_with("🗒 日常巡店 · 天猫一组 · 3月3日 周二\n负责人：@sam_supervisor · 截止 09:30\n进度：0/10 项"),
        "{text}"
    );
    assert!(text.contains("⬜ 天猫 · 旗舰店"), "{text}");
    assert!(text.contains("⬜ 2. 离线消息"), "{text}");
    let starts: String = sqlx::query_scalar("SELECT starts_at FROM patrols").fetch_one(&app.db).await.unwrap();
    assert!(starts.starts_with("2026-03-03T00:30:00"), "08:30 Shanghai is 00:30 UTC: {starts}");

    press(&app, &ALICE, patrol, "2 ✅").await;
    wait_for_text(&app, patrol, "✅ 2. 离线消息 — Alice (@alice_cs) 08:30").await;
    app.advance(Span::minutes(2)).await;
    press(&app, &BOB, patrol, "3 ✅").await;
    let text = wait_for_text(&app, patrol, "✅ 3. 跨部门信息 — Bob 08:32").await;
    assert!(text.contains("进度：2/10"), "{text}");
    let message = checklist(&app, patrol).await;
    let labels: Vec<String> = message["reply_markup"]["inline_keyboard"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|row| {
            row.as_array().unwrap().iter().map(|b| b["text"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
        })
        .collect();
    assert!(!labels.contains(&"2 ✅".to_owned()), "finished steps leave the keyboard: {labels:?}");
    assert!(labels.contains(&"旗舰店 掉线".to_owned()), "the store's buttons carry its name: {labels:?}");
    assert!(labels.contains(&"旗舰店 ✅".to_owned()), "{labels:?}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_issue_asks_for_a_note_and_a_severity_and_routes_by_it() {
    let app = spawn_app_with_phone(FLOOR).await;
    app.set_up_floor().await;
    let patrol = until_tuesday_patrol(&app).await;

    // Yellow: the duty supervisor is told privately and mentioned; nobody is called.
    press(&app, &ALICE, patrol, "4 ⚠").await;
    let prompt = app.next_message_to(TEAM_GROUP.id).await;
    assert!(text_of(&prompt).starts_with("@alice_cs 第 4 项「违规与投诉」发现了什么问题？"), "{}", text_of(&prompt));
    assert_eq!(prompt.body["reply_markup"]["force_reply"], true);
    app.say_replying(&BOB, Chat::Group(TEAM_GROUP), "不是我的", Some(&prompt.result));
    app.say_replying(&ALICE, Chat::Group(TEAM_GROUP), "后台有 2 条新投诉待处理", Some(&prompt.result));
    let ask = app.next_message_to(TEAM_GROUP.id).await;
    assert!(text_of(&ask).starts_with("请选择预警级别"), "{}", text_of(&ask));
    app.click(&ALICE, &ask.result, "pv:4:y");
    let private = app.reply_to_private(&SAM).await;
    assert!(
        private.starts_with("🟡 <b>巡店问题 #1</b> 需要你跟进（黄色预警）\n4. 违规与投诉：后台有 2 条新投诉待处理"),
        "{private}"
    );
    let mention = app.next_text_to(TEAM_GROUP.id).await;
    assert!(mention.starts_with("@sam_supervisor 🟡 巡店问题 #1 需要跟进（黄色预警）"), "{mention}");
    wait_for_text(&app, patrol, "⚠️ 4. 违规与投诉 — Alice (@alice_cs) 08:30：后台有 2 条新投诉待处理（#1）").await;

    // Red: relayed to operations and the escalation chain runs.
    press(&app, &BOB, patrol, "9 ⚠").await;
    let prompt = app.next_message_to(TEAM_GROUP.id).await;
    app.say_replying(&BOB, Chat::Group(TEAM_GROUP), "一批退款超时 3 天", Some(&prompt.result));
    let ask = app.next_message_to(TEAM_GROUP.id).await;
    app.click(&BOB, &ask.result, ask.body["reply_markup"]["inline_keyboard"][0][2]["callback_data"].as_str().unwrap());
    let relay = app.next_text_to(OPS_GROUP.id).await;
    assert!(relay.starts_with("📣 <b>巡店发现问题</b> · 客服团队「天猫一组」\n🔴"), "{relay}");
    let steps: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE kind = 'step' AND incident_id = 2")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(steps, 3, "the store-anomaly chain runs for red");

    // Blue: recorded only.
    press(&app, &BOB, patrol, "10 ⚠").await;
    let prompt = app.next_message_to(TEAM_GROUP.id).await;
    app.say_replying(&BOB, Chat::Group(TEAM_GROUP), "一条中评，已回访", Some(&prompt.result));
    let ask = app.next_message_to(TEAM_GROUP.id).await;
    app.click(&BOB, &ask.result, ask.body["reply_markup"]["inline_keyboard"][0][0]["callback_data"].as_str().unwrap());
    app.wait_for_count("SELECT COUNT(*) FROM incidents WHERE severity = 'blue'", 1).await;
    app.settle().await;
    let jobs_for_blue: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE incident_id = 3").fetch_one(&app.db).await.unwrap();
    assert_eq!(jobs_for_blue, 0);
    let severities: Vec<(String, String)> =
        sqlx::query_as("SELECT kind, severity FROM incidents ORDER BY id").fetch_all(&app.db).await.unwrap();
    assert_eq!(
        severities,
        vec![
            ("patrol_issue".into(), "yellow".into()),
            ("patrol_issue".into(), "red".into()),
            ("patrol_issue".into(), "blue".into())
        ]
    );
    assert!(app.phone().calls().is_empty());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_found_offline_is_recorded_and_not_applicable_needs_a_reason() {
    let app = spawn_app_with_phone(FLOOR).await;
    app.set_up_floor().await;
    let patrol = until_tuesday_patrol(&app).await;
    press(&app, &ALICE, patrol, "旗舰店 掉线").await;
    wait_for_text(&app, patrol, "❌ 天猫 · 旗舰店 — Alice (@alice_cs) 08:30（#1）").await;
    let incident: (String, String, Option<i64>) =
        sqlx::query_as("SELECT kind, description, store_id FROM incidents WHERE id = 1")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(incident, ("account_offline".into(), "天猫 · 旗舰店".into(), Some(1)));
    let mention = app.next_text_to(TEAM_GROUP.id).await;
    assert_eq!(mention, "@sam_supervisor 🟡 店铺账号掉线 #1 需要跟进（黄色预警）：天猫 · 旗舰店");

    press(&app, &BOB, patrol, "6 不适用").await;
    let prompt = app.next_message_to(TEAM_GROUP.id).await;
    assert!(
        text_of(&prompt).starts_with("<a href=\"tg://user?id=2002\">Bob</a> 第 6 项「平台考核指标」为什么不适用？"),
        "{}",
        text_of(&prompt)
    );
    let text = checklist(&app, patrol).await["text"].as_str().unwrap().to_owned();
    assert!(text.contains("⬜ 6. 平台考核指标"), "not ticked without a reason: {text}");
    app.say_replying(&BOB, Chat::Group(TEAM_GROUP), "每周一才看", Some(&prompt.result));
    wait_for_text(&app, patrol, "➖ 6. 平台考核指标 — Bob 08:30：每周一才看").await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unfinished_patrol_is_chased_before_and_escalated_at_the_deadline() {
    let app = spawn_app_with_phone(FLOOR).await;
    app.set_up_floor().await;
    app.say(&ALICE, Chat::Group(TEAM_GROUP), "早");
    app.say(&SAM, Chat::Group(TEAM_GROUP), "/role add lead @alice_cs");
    app.reply_in(TEAM_GROUP).await;
    let patrol = until_tuesday_patrol(&app).await;
    let text = checklist(&app, patrol).await["text"].as_str().unwrap().to_owned();
    assert!(text.contains("负责人：@alice_cs"), "the only lead is responsible: {text}");
    app.advance(Span::minutes(45)).await; // 09:15
    let reminder = app.next_text_to(TEAM_GROUP.id).await;
    assert!(
        reminder.starts_with("@alice_cs 巡店还有 15 分钟截止（09:30），还差：1. 账号登录、2. 离线消息"),
        "{reminder}"
    );
    app.advance(Span::minutes(15)).await; // 09:30
    let late = app.next_text_to(TEAM_GROUP.id).await;
    assert!(late.starts_with("@sam_supervisor 团队「天猫一组」今天的巡店已过截止时间，还差：1. 账号登录"), "{late}");
    let private = app.reply_to_private(&SAM).await;
    assert!(private.starts_with("⏰ 团队「天猫一组」今天的巡店已过截止时间，还差：1. 账号登录"), "{private}");
    wait_for_text(&app, patrol, "⏰ 已过截止时间，尚未完成").await;
    app.say(&SAM, Chat::Group(TEAM_GROUP), "/patrol history 3");
    let history = app.reply_in(TEAM_GROUP).await;
    assert!(history.contains("3月3日 周二 ❌ 未完成"), "{history}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_every_step_is_done_a_summary_is_posted() {
    let app = spawn_app_with_phone(FLOOR).await;
    app.set_up_floor().await;
    let patrol = until_tuesday_patrol(&app).await;
    press(&app, &ALICE, patrol, "旗舰店 ✅").await;
    wait_for_text(&app, patrol, "✅ 天猫 · 旗舰店").await;
    for step in 2..=10 {
        // A minute a step, pressing and waiting for the checklist included.
        app.advance(Span::seconds(54)).await;
        press(&app, &ALICE, patrol, &format!("{step} ✅")).await;
        wait_for_text(&app, patrol, &format!("进度：{step}/10")).await;
    }
    let summary = app.next_text_to(TEAM_GROUP.id).await;
    assert_eq!(summary, "✅ 今日巡店完成，用时 9 分钟，未发现问题。");
    let message = checklist(&app, patrol).await;
    assert!(message.get("reply_markup").is_none(), "no buttons left: {message}");
    app.advance(Span::hours(1)).await;
    app.settle().await;
    let late: Option<String> = sqlx::query_scalar("SELECT escalated_at FROM patrols").fetch_one(&app.db).await.unwrap();
    assert!(late.is_none(), "a completed patrol is never escalated");
    app.say(&SAM, Chat::Group(TEAM_GROUP), "/patrol history");
    let history = app.reply_in(TEAM_GROUP).await;
    assert!(history.contains("3月3日 周二 ✅ 08:39 完成（Alice (@alice_cs)）· 问题：无"), "{history}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_never_posts_twice_and_a_late_start_posts_marked_late() {
    let mut app = spawn_app_with_phone(FLOOR).await;
    app.set_up_floor().await;
    until_tuesday_patrol(&app).await;
    app.restart(FLOOR).await;
    app.advance(Span::minutes(5)).await;
    app.settle().await;
    let posted: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM patrols").fetch_one(&app.db).await.unwrap();
    assert_eq!(posted, 1);

    // Down over Wednesday 08:30, back at 08:50 (before the 09:30 deadline).
    let wednesday_0820 = Utc.with_ymd_and_hms(2026, 3, 4, 0, 20, 0).single().unwrap();
    app.advance(wednesday_0820 - app.clock.now()).await;
    app.settle().await;
    app.stop_only().await;
    app.clock.advance(Span::minutes(30));
    app.restart(FLOOR).await;
    app.wait_for_count("SELECT COUNT(*) FROM patrols WHERE local_date = '2026-03-04' AND message_id IS NOT NULL", 1)
        .await;
    let wednesday: i64 =
        sqlx::query_scalar("SELECT id FROM patrols WHERE local_date = '2026-03-04'").fetch_one(&app.db).await.unwrap();
    let text = checklist(&app, wednesday).await["text"].as_str().unwrap().to_owned();
    assert!(text.contains("⚠️ 补发（原定 08:30 发布）"), "{text}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_steps_and_schedule_apply_from_the_next_patrol() {
    let app = spawn_app_with_phone(FLOOR).await;
    app.set_up_floor().await;
    app.moment().await;
    app.say(&SAM, Chat::Group(TEAM_GROUP), "/patrol step add 直播间巡查 | 直播间是否正常开播 | 没开播马上联系主播");
    assert_eq!(app.reply_in(TEAM_GROUP).await, "✅ 已添加第 11 项「直播间巡查」，明天起生效。");
    app.moment().await;
    app.say(&SAM, Chat::Group(TEAM_GROUP), "/patrol step rm 6");
    assert_eq!(app.reply_in(TEAM_GROUP).await, "✅ 已删除第 6 项「平台考核指标」，明天起生效。");
    app.moment().await;
    app.say(&ALICE, Chat::Group(TEAM_GROUP), "/patrol steps");
    let steps = app.reply_in(TEAM_GROUP).await;
    assert!(steps.starts_with("<b>巡店清单</b>（共 10 项）"), "{steps}");
    assert!(steps.contains("10. <b>直播间巡查</b> — 检查：直播间是否正常开播；处理：没开播马上联系主播"), "{steps}");
    app.moment().await;
    app.say(&SAM, Chat::Group(TEAM_GROUP), "/patrol schedule 08:00 周一-周五 截止 09:00");
    assert_eq!(app.reply_in(TEAM_GROUP).await, "✅ 巡店时间：周一至周五 08:00，截止 09:00。下一次：3月3日 周二。");
    let target = Utc.with_ymd_and_hms(2026, 3, 3, 0, 0, 0).single().unwrap();
    app.advance(target - app.clock.now()).await;
    app.wait_for_count("SELECT COUNT(*) FROM patrols WHERE message_id IS NOT NULL", 1).await;
    let patrol: i64 = sqlx::query_scalar("SELECT id FROM patrols").fetch_one(&app.db).await.unwrap();
    let text = checklist(&app, patrol).await["text"].as_str().unwrap().to_owned();
    assert!(text.contains("截止 09:00") && text.contains("直播间巡查") && !text.contains("平台考核指标"), "{text}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_patrol_input_is_explained_and_changes_nothing() {
    let app = spawn_app_with_phone(FLOOR).await;
    app.set_up_floor().await;
    app.moment().await;
    app.say(&SAM, Chat::Group(TEAM_GROUP), "/patrol schedule 25:99");
    assert_eq!(app.reply_in(TEAM_GROUP).await, "「25:99」不是时间，请写成 HH:MM，例如 08:30。");
    app.moment().await;
    app.say(&SAM, Chat::Group(TEAM_GROUP), "/patrol schedule 08:30 funday");
    assert!(app.reply_in(TEAM_GROUP).await.starts_with("看不懂「funday」。可以写：每天、工作日"));
    app.moment().await;
    app.say(&SAM, Chat::Group(TEAM_GROUP), "/patrol schedule 08:30 周八");
    assert!(app.reply_in(TEAM_GROUP).await.starts_with("看不懂「周八」"));
    app.moment().await;
    app.say(&SAM, Chat::Group(TEAM_GROUP), "/patrol schedule 09:00 mon-fri deadline 08:00");
    assert_eq!(app.reply_in(TEAM_GROUP).await, "截止时间 08:00 必须晚于开始时间 09:00，且在同一天。");
    app.moment().await;
    app.say(&SAM, Chat::Group(TEAM_GROUP), "/patrol step rm 99");
    assert_eq!(app.reply_in(TEAM_GROUP).await, "没有第「99」项，清单共 10 项。发送 <code>/patrol steps</code> 查看。");
    app.moment().await;
    app.say(&ALICE, Chat::Group(TEAM_GROUP), "/patrol schedule 07:00");
    assert_eq!(app.reply_in(TEAM_GROUP).await, "⛔ /patrol 仅限组长或客服主管使用。");
    app.moment().await;
    app.say(&SAM, Chat::Group(TEAM_GROUP), "/patrol history many");
    assert!(app.reply_in(TEAM_GROUP).await.starts_with("「many」不是天数"));
    let settings: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM patrol_settings").fetch_one(&app.db).await.unwrap();
    let custom: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM patrol_steps").fetch_one(&app.db).await.unwrap();
    assert_eq!((settings, custom), (0, 0));
    app.moment().await;
    app.say(&SAM, Chat::Group(TEAM_GROUP), "/patrol schedule 08:00 mon,wed,fri deadline 09:15");
    assert_eq!(
        app.reply_in(TEAM_GROUP).await,
        "✅ 巡店时间：周一、周三、周五 08:00，截止 09:15。下一次：3月4日 周三。"
    );
    // What the bot shows can be typed back, spaces and all.
    app.moment().await;
    app.say(&SAM, Chat::Group(TEAM_GROUP), "/patrol schedule 08:00 周一、周三、周五 截止 09:15");
    assert_eq!(
        app.reply_in(TEAM_GROUP).await,
        "✅ 巡店时间：周一、周三、周五 08:00，截止 09:15。下一次：3月4日 周三。"
    );
    app.moment().await;
    app.say(&SAM, Chat::Group(TEAM_GROUP), "/patrol schedule 08:00 Mon, Wed, Fri");
    assert_eq!(
        app.reply_in(TEAM_GROUP).await,
        "✅ 巡店时间：周一、周三、周五 08:00，截止 09:00。下一次：3月4日 周三。"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_team_in_berlin_patrols_once_a_day_across_both_daylight_saving_changes() {
    let config = r#"
supervisors = [1001, 1002]
[teams."天猫一组"]
timezone = "Europe/Berlin"
patrol = { at = "02:30", deadline = "04:00" }
"#;
    let app = spawn_app_with_phone(config).await;
    app.set_up_floor().await;
    // Jump to the evening before spring forward: nothing in between is posted late.
    let saturday = Utc.with_ymd_and_hms(2026, 3, 28, 22, 0, 0).single().unwrap();
    app.advance(saturday - app.clock.now()).await;
    app.settle().await;
    let before: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM patrols").fetch_one(&app.db).await.unwrap();
    // 02:30 does not exist on 2026-03-29: the next valid minute, 03:00 CEST, is 01:00 UTC.
    app.advance(Utc.with_ymd_and_hms(2026, 3, 29, 0, 59, 0).single().unwrap() - app.clock.now()).await;
    app.settle().await;
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM patrols").fetch_one(&app.db).await.unwrap();
    assert_eq!(count, before, "not before 03:00 local");
    app.advance(Span::minutes(1)).await;
    app.wait_for_count("SELECT COUNT(*) FROM patrols WHERE local_date = '2026-03-29'", 1).await;
    let starts: String = sqlx::query_scalar("SELECT starts_at FROM patrols WHERE local_date = '2026-03-29'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert!(starts.starts_with("2026-03-29T01:00:00"), "{starts}");

    // Fall back: 02:30 happens twice on 2026-10-25 (00:30 and 01:30 UTC); it fires once.
    let evening = Utc.with_ymd_and_hms(2026, 10, 24, 22, 0, 0).single().unwrap();
    app.advance(evening - app.clock.now()).await;
    app.settle().await;
    app.advance(Utc.with_ymd_and_hms(2026, 10, 25, 0, 30, 0).single().unwrap() - app.clock.now()).await;
    app.wait_for_count("SELECT COUNT(*) FROM patrols WHERE local_date = '2026-10-25'", 1).await;
    app.advance(Span::hours(1)).await;
    app.settle().await;
    let autumn: Vec<String> = sqlx::query_scalar("SELECT starts_at FROM patrols WHERE local_date = '2026-10-25'")
        .fetch_all(&app.db)
        .await
        .unwrap();
    assert_eq!(autumn.len(), 1);
    assert!(autumn[0].starts_with("2026-10-25T00:30:00"), "{autumn:?}");
    // The next start is 02:30 CET on the 26th: 01:30 UTC.
    let next: String = sqlx::query_scalar("SELECT due_at FROM jobs WHERE kind = 'patrol_start' AND state = 'pending'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert!(next.starts_with("2026-10-26T01:30:00"), "{next}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manual_start_a_fresh_copy_an_owner_and_many_stores() {
    let app = spawn_app_with_phone(FLOOR).await;
    app.set_up_floor().await;
    // Forty stores: with the steps' buttons that is over Telegram's ~100, so the stores get
    // a message of their own.
    for n in 2..=40 {
        sqlx::query("INSERT INTO stores (team_id, platform, name, created_at) VALUES (1, 'jd', ?, ?)")
            .bind(format!("京东店{n:02}"))
            .bind(app.clock.now())
            .execute(&app.db)
            .await
            .unwrap();
    }
    app.moment().await;
    app.say(&SAM, Chat::Group(TEAM_GROUP), "/patrol owner @alice_cs");
    assert_eq!(app.reply_in(TEAM_GROUP).await, "✅ 巡店负责人：Alice (@alice_cs)。");
    app.moment().await;
    app.say(&ALICE, Chat::Group(TEAM_GROUP), "/patrol");
    assert!(app.reply_in(TEAM_GROUP).await.starts_with("今天的巡店清单还没有发布。"));
    app.moment().await;
    app.say(&SAM, Chat::Group(TEAM_GROUP), "/patrol start");
    let first = app.next_message_to(TEAM_GROUP.id).await;
    assert!(text_of(&first).contains("负责人：@alice_cs"), "{}", text_of(&first));
    let stores = app.next_message_to(TEAM_GROUP.id).await;
    assert!(text_of(&stores).starts_with("3月2日 周一 账号登录：逐个确认各店铺"), "{}", text_of(&stores));
    let store_buttons: usize = stores.body["reply_markup"]["inline_keyboard"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row.as_array().unwrap().len())
        .sum();
    assert_eq!(store_buttons, 80);
    let first_row = &stores.body["reply_markup"]["inline_keyboard"][0];
    assert_eq!(first_row[0]["text"], "旗舰店 ✅");
    assert_eq!(first_row[1]["text"], "旗舰店 掉线");
    assert_eq!(stores.body["reply_markup"]["inline_keyboard"][1][0]["text"], "京东店02 ✅");
    let step_buttons: usize = first.body["reply_markup"]["inline_keyboard"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row.as_array().unwrap().len())
        .sum();
    assert_eq!(step_buttons, 27);
    app.moment().await;
    app.say(&SAM, Chat::Group(TEAM_GROUP), "/patrol start");
    assert_eq!(app.reply_in(TEAM_GROUP).await, "今天的巡店清单已经发布了，发送 /patrol 再看一次。");

    app.moment().await;
    app.say(&BOB, Chat::Group(TEAM_GROUP), "/patrol");
    let fresh = app.next_message_to(TEAM_GROUP.id).await;
    assert!(text_of(&fresh).starts_with("🗒 <b>日常巡店</b>"), "{}", text_of(&fresh));
    app.settle().await;
    let old = app.telegram.message(TEAM_GROUP.id, first.result["message_id"].as_i64().unwrap()).unwrap();
    assert_eq!(old["text"], "⬇️ 巡店清单已更新，请看最新一条消息。");
    assert!(old.get("reply_markup").is_none(), "the old copy has no buttons: {old}");
    let live: i64 = sqlx::query_scalar("SELECT message_id FROM patrols").fetch_one(&app.db).await.unwrap();
    assert_eq!(Some(live), fresh.result["message_id"].as_i64());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_start_is_reminded_with_the_minutes_actually_left() {
    let app = spawn_app_with_phone(FLOOR).await;
    app.set_up_floor().await;
    // Monday 09:22 in Shanghai: today's window (08:30, due 09:30) is nearly over.
    let late = Utc.with_ymd_and_hms(2026, 3, 2, 1, 22, 0).single().unwrap();
    app.advance(late - app.clock.now()).await;
    app.say(&SAM, Chat::Group(TEAM_GROUP), "/patrol start");
    // The checklist and the reminder are both due at once; either may go first.
    let (first, second) = (app.next_text_to(TEAM_GROUP.id).await, app.next_text_to(TEAM_GROUP.id).await);
    let (checklist, reminder) = if first.starts_with("🗒") { (first, second) } else { (second, first) };
    assert!(checklist.starts_with("🗒 <b>日常巡店</b> · 天猫一组 · 3月2日 周一"), "{checklist}");
    assert!(
        reminder.starts_with("@sam_supervisor 巡店还有 8 分钟截止（09:30），还差：1. 账号登录、2. 离线消息"),
        "{reminder}"
    );
    app.stop().await;
}
