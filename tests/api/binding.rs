//! Binding groups: team groups and the cross-department group; unbound groups stay quiet.

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn supervisor_binds_a_team_group_and_the_ops_group() {
    let app = spawn_app().await;
    app.say(&SAM, Chat::Group(TEAM_GROUP), "/bind team 天猫一组");
    let reply = app.reply_in(TEAM_GROUP).await;
    assert_eq!(reply, "✅ 本群已绑定为客服团队「天猫一组」的团队群。");

    app.say(&SAM, Chat::Group(OPS_GROUP), "/bind ops");
    let reply = app.reply_in(OPS_GROUP).await;
    assert!(reply.starts_with("✅ 本群已绑定为跨部门沟通群"), "{reply}");

    let bindings: Vec<(i64, Option<String>)> =
        sqlx::query_as("SELECT chat_id, binding FROM chats WHERE active = 1 ORDER BY chat_id DESC")
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(bindings, vec![(TEAM_GROUP.id, Some("team".into())), (OPS_GROUP.id, Some("ops".into()))]);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unbound_group_answers_only_start_and_help_with_a_hint() {
    let app = spawn_app().await;
    app.say(&ALICE, Chat::Group(OTHER_GROUP), "/whoami");
    app.say(&ALICE, Chat::Group(OTHER_GROUP), "/duty who");
    app.say(&ALICE, Chat::Group(OTHER_GROUP), "/help");
    let help = app.reply_in(OTHER_GROUP).await;
    assert!(help.starts_with("本群尚未绑定。客服主管可以发送 <code>/bind team 团队名</code>"), "{help}");
    assert!(!help.contains("/whoami"), "{help}");
    app.say(&ALICE, Chat::Group(OTHER_GROUP), "/start");
    let start = app.reply_in(OTHER_GROUP).await;
    assert!(start.starts_with("本群尚未绑定。请客服主管发送"), "{start}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binding_survives_a_restart() {
    let mut app = spawn_app().await;
    app.bind_team(TEAM_GROUP, "天猫一组").await;
    app.restart(DEFAULT_CONFIG).await;
    app.say(&ALICE, Chat::Group(TEAM_GROUP), "/start");
    assert_eq!(app.reply_in(TEAM_GROUP).await, "本群是客服团队「天猫一组」的团队群。发送 /help 查看可用命令。");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_team_has_one_group_and_the_floor_one_ops_group() {
    let app = spawn_app().await;
    app.bind_team(TEAM_GROUP, "天猫一组").await;
    app.bind_ops(OPS_GROUP).await;
    app.say(&SAM, Chat::Group(OTHER_GROUP), "/bind team 天猫一组");
    assert_eq!(app.reply_in(OTHER_GROUP).await, "团队「天猫一组」已绑定在群「天猫一组」。请先在那个群发送 /unbind。");
    app.say(&SAM, Chat::Group(OTHER_GROUP), "/bind ops");
    assert_eq!(app.reply_in(OTHER_GROUP).await, "跨部门沟通群已是「跨部门沟通群」。请先在那个群发送 /unbind。");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unbind_makes_the_group_quiet_again() {
    let app = spawn_app().await;
    app.bind_team(TEAM_GROUP, "天猫一组").await;
    app.say(&SAM, Chat::Group(TEAM_GROUP), "/unbind");
    assert_eq!(app.reply_in(TEAM_GROUP).await, "已解除本群绑定。");
    app.say(&ALICE, Chat::Group(TEAM_GROUP), "/whoami");
    app.assert_silent_in(&ALICE, TEAM_GROUP).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_upgraded_to_a_supergroup_keeps_its_binding_and_members() {
    let app = spawn_app().await;
    app.bind_team(BASIC_GROUP, "京东组").await;
    app.say(&ALICE, Chat::Group(BASIC_GROUP), "早上好");
    let new_group = Group { id: -1_009_000_000_001, title: "京东组", supergroup: true };
    app.telegram.remember_chat(new_group.json());
    app.push(crate::fake_telegram::migrate_update(
        app.telegram.next_message_id(BASIC_GROUP.id),
        &BASIC_GROUP.json(),
        &SAM.json(),
        new_group.id,
    ));
    app.wait_for_row("SELECT COUNT(*) FROM chats WHERE chat_id = -1009000000001 AND binding = 'team'").await;
    app.say(&ALICE, Chat::Group(new_group), "/team");
    let team = app.reply_in(new_group).await;
    assert!(team.starts_with("<b>团队「京东组」成员</b>（2 人）"), "{team}");
    assert!(team.contains("Alice (@alice_cs)"), "{team}");
    let old_rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM chats WHERE chat_id = ?")
        .bind(BASIC_GROUP.id)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(old_rows, 0);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_refused_because_of_an_upgrade_is_retried_once_in_the_supergroup() {
    let app = spawn_app().await;
    app.bind_team(BASIC_GROUP, "京东组").await;
    let new_id = -1_009_000_000_002;
    app.telegram.fail_next(
        "sendMessage",
        400,
        "Bad Request: group chat was upgraded to a supergroup chat",
        Some(serde_json::json!({ "migrate_to_chat_id": new_id })),
    );
    app.say(&ALICE, Chat::Group(BASIC_GROUP), "/whoami");
    let reply = app.next_text_to(new_id).await;
    assert!(reply.starts_with("Alice (@alice_cs)"), "{reply}");
    let binding: Option<String> = sqlx::query_scalar("SELECT binding FROM chats WHERE chat_id = ?")
        .bind(new_id)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(binding.as_deref(), Some("team"));
    let failed = app.telegram.failed_requests();
    assert_eq!(failed.len(), 1, "exactly one refused send: {failed:#?}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_bot_is_removed_the_binding_ends_and_nothing_more_is_sent_there() {
    let app = spawn_app().await;
    app.bind_team(TEAM_GROUP, "天猫一组").await;
    let bot = app.telegram.bot_user();
    app.push(crate::fake_telegram::my_chat_member_update(&TEAM_GROUP.json(), &SAM.json(), &bot, "member", "left"));
    app.say(&SAM, Chat::Group(TEAM_GROUP), "/start");
    assert!(app.telegram.wait_updates_consumed(WAIT).await);
    // The probe in another chat proves the bot is alive; the removed group got nothing.
    app.say(&SAM, Chat::Group(OTHER_GROUP), "/start");
    app.reply_in(OTHER_GROUP).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let to_team: Vec<_> =
        app.sent("sendMessage").into_iter().filter(|m| m.body["chat_id"].as_i64() == Some(TEAM_GROUP.id)).collect();
    assert_eq!(to_team.len(), 1, "only the binding confirmation: {to_team:#?}");
    let active: bool = sqlx::query_scalar("SELECT active FROM chats WHERE chat_id = ?")
        .bind(TEAM_GROUP.id)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert!(!active);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_added_back_greets_and_waits_to_be_bound_again() {
    let app = spawn_app().await;
    app.bind_team(TEAM_GROUP, "天猫一组").await;
    let bot = app.telegram.bot_user();
    app.push(crate::fake_telegram::my_chat_member_update(&TEAM_GROUP.json(), &SAM.json(), &bot, "member", "left"));
    app.push(crate::fake_telegram::my_chat_member_update(&TEAM_GROUP.json(), &SAM.json(), &bot, "left", "member"));
    let greeting = app.reply_in(TEAM_GROUP).await;
    assert!(greeting.starts_with("大家好，我是 floorbot"), "{greeting}");
    app.say(&ALICE, Chat::Group(TEAM_GROUP), "/whoami");
    app.assert_silent_in(&ALICE, TEAM_GROUP).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn team_commands_elsewhere_point_to_the_team_group() {
    let app = spawn_app().await;
    app.bind_team(TEAM_GROUP, "天猫一组").await;
    app.bind_ops(OPS_GROUP).await;
    for command in ["anomaly", "store", "stores", "patrol"] {
        app.moment().await;
        app.say(&SAM, Chat::Group(OPS_GROUP), &format!("/{command}"));
        assert_eq!(app.reply_in(OPS_GROUP).await, format!("/{command} 请在团队群里使用。"));
    }
    app.say(&ALICE, Chat::Private, "/stores");
    assert_eq!(app.reply_to_private(&ALICE).await, "/stores 请在团队群里使用。");
    app.say(&ALICE, Chat::Private, "/team");
    assert_eq!(app.reply_to_private(&ALICE).await, "/team 需要在群里使用。");
    app.say(&SAM, Chat::Group(OPS_GROUP), "/claim abcdefgh");
    assert_eq!(app.reply_in(OPS_GROUP).await, "/claim 请私聊我发送：@floorbot_test_bot");
    app.stop().await;
}
