//! Roles, permissions, /whoami, /team, /help per role, /duty and the first-start claim code.

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn supervisor_grants_roles_by_username_and_by_reply() {
    let app = spawn_app().await;
    app.bind_team(TEAM_GROUP, "天猫一组").await;
    app.say(&ALICE, Chat::Group(TEAM_GROUP), "在的");
    let bobs_message = app.say(&BOB, Chat::Group(TEAM_GROUP), "我也在");
    app.say(&SAM, Chat::Group(TEAM_GROUP), "/role add lead @alice_cs");
    assert_eq!(app.reply_in(TEAM_GROUP).await, "✅ Alice (@alice_cs) 现在是组长。");
    app.say_replying(&SAM, Chat::Group(TEAM_GROUP), "/role add 运营", Some(&bobs_message));
    assert_eq!(app.reply_in(TEAM_GROUP).await, "✅ Bob 现在是运营。");
    app.say(&SAM, Chat::Group(TEAM_GROUP), "/role add lead @alice_cs");
    assert_eq!(app.reply_in(TEAM_GROUP).await, "Alice (@alice_cs) 已经是组长了。");
    app.say(&SAM, Chat::Group(TEAM_GROUP), "/role rm lead @alice_cs");
    assert_eq!(app.reply_in(TEAM_GROUP).await, "已取消 Alice (@alice_cs) 的组长角色。");

    let roles: Vec<(i64, String)> =
        sqlx::query_as("SELECT user_id, role FROM roles ORDER BY id").fetch_all(&app.db).await.unwrap();
    assert_eq!(roles, vec![(BOB.id, "ops".to_owned())]);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_names_someone_the_bot_has_not_seen_and_every_role_name_shown_is_typed_back() {
    let app = spawn_app().await;
    app.bind_team(TEAM_GROUP, "天猫一组").await;
    // Carol wrote before the bot joined: it never saw her message, only the reply to it.
    let carol = Person { id: 2004, first_name: "Carol", username: None };
    let old = crate::fake_telegram::text_message_update(1, &TEAM_GROUP.json(), &carol.json(), "旧消息", None);
    app.say_replying(&SAM, Chat::Group(TEAM_GROUP), "/role add 组长", Some(&old["message"]));
    assert_eq!(app.reply_in(TEAM_GROUP).await, "✅ Carol 现在是组长。");
    // A message not written by a person names nobody.
    let bot = app.telegram.bot_user();
    let from_bot = crate::fake_telegram::text_message_update(2, &TEAM_GROUP.json(), &bot, "🗒 日常巡店", None);
    app.say_replying(&SAM, Chat::Group(TEAM_GROUP), "/role add 组长", Some(&from_bot["message"]));
    assert!(app.reply_in(TEAM_GROUP).await.starts_with("回复的这条消息不是同事本人发的"));
    app.say(&ALICE, Chat::Group(TEAM_GROUP), "在");
    app.say(&SAM, Chat::Group(TEAM_GROUP), "/role add 公关/法务 @alice_cs");
    assert_eq!(app.reply_in(TEAM_GROUP).await, "✅ Alice (@alice_cs) 现在是公关/法务。");
    app.moment().await;
    app.say(&SAM, Chat::Group(TEAM_GROUP), "/lang en");
    app.reply_in(TEAM_GROUP).await;
    app.say(&SAM, Chat::Group(TEAM_GROUP), "/role add team lead @alice_cs");
    assert_eq!(app.reply_in(TEAM_GROUP).await, "✅ Alice (@alice_cs) now has the team lead role.");
    app.say(&SAM, Chat::Group(TEAM_GROUP), "/role add boss @alice_cs");
    assert_eq!(
        app.reply_in(TEAM_GROUP).await,
        "There is no role “boss”. Roles: agent, team lead, supervisor, operations, IT, administration, PR/legal"
    );
    let roles: Vec<(i64, String)> =
        sqlx::query_as("SELECT user_id, role FROM roles ORDER BY id").fetch_all(&app.db).await.unwrap();
    assert_eq!(roles, vec![(2004, "lead".to_owned()), (ALICE.id, "pr".to_owned()), (ALICE.id, "lead".to_owned())]);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_is_refused_supervisor_commands_with_the_role_named() {
    let app = spawn_app().await;
    app.bind_team(TEAM_GROUP, "天猫一组").await;
    app.say(&ALICE, Chat::Group(TEAM_GROUP), "/bind team 京东组");
    assert_eq!(app.reply_in(TEAM_GROUP).await, "⛔ /bind 仅限客服主管使用。");
    app.say(&ALICE, Chat::Group(TEAM_GROUP), "/role add lead @alice_cs");
    assert_eq!(app.reply_in(TEAM_GROUP).await, "⛔ /role 仅限客服主管使用。");
    app.say(&ALICE, Chat::Group(TEAM_GROUP), "/duty");
    assert_eq!(app.reply_in(TEAM_GROUP).await, "⛔ /duty 仅限客服主管使用。");
    app.say(&ALICE, Chat::Group(TEAM_GROUP), "/lang en");
    assert_eq!(app.reply_in(TEAM_GROUP).await, "⛔ /lang 仅限组长或客服主管使用。");
    // Six answers in this group in one moment is all Telegram allows at once; the next
    // goes a second later.
    app.say(&ALICE, Chat::Group(TEAM_GROUP), "/unbind");
    app.advance(chrono::Duration::seconds(1)).await;
    assert_eq!(app.reply_in(TEAM_GROUP).await, "⛔ /unbind 仅限客服主管使用。");
    let place: Option<String> = sqlx::query_scalar("SELECT binding FROM chats WHERE chat_id = ?")
        .bind(TEAM_GROUP.id)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(place.as_deref(), Some("team"), "nothing changed");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_commands_get_usage_and_unknown_ones_silence() {
    let app = spawn_app().await;
    app.bind_team(TEAM_GROUP, "天猫一组").await;
    app.say(&SAM, Chat::Group(TEAM_GROUP), "/role add");
    let usage = app.reply_in(TEAM_GROUP).await;
    assert!(usage.starts_with("用法：<code>/role add|rm 角色 @用户名</code>"), "{usage}");
    app.say(&SAM, Chat::Group(TEAM_GROUP), "/role add boss @alice_cs");
    assert_eq!(
        app.reply_in(TEAM_GROUP).await,
        "没有「boss」这个角色。可选：客服、组长、客服主管、运营、IT、综合管理、公关/法务"
    );
    app.say(&SAM, Chat::Group(TEAM_GROUP), "/role add lead alice");
    assert!(app.reply_in(TEAM_GROUP).await.starts_with("用法："), "a target must be an @username");
    app.moment().await;
    app.say(&SAM, Chat::Group(TEAM_GROUP), "/role add lead @ghost");
    assert!(app.reply_in(TEAM_GROUP).await.starts_with("我还没见过@ghost"));
    app.say(&SAM, Chat::Group(TEAM_GROUP), "/frobnicate now");
    app.say(&SAM, Chat::Group(TEAM_GROUP), "/whoami@some_other_bot");
    app.assert_silent_in(&SAM, TEAM_GROUP).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whoami_and_team_show_names_ids_and_roles() {
    let app = spawn_app().await;
    app.bind_team(TEAM_GROUP, "天猫一组").await;
    app.say(&ALICE, Chat::Group(TEAM_GROUP), "/whoami");
    assert_eq!(app.reply_in(TEAM_GROUP).await, "Alice (@alice_cs)\nID：<code>2001</code>\n角色：客服");
    app.say(&BOB, Chat::Group(TEAM_GROUP), "/team");
    assert_eq!(
        app.reply_in(TEAM_GROUP).await,
        "<b>团队「天猫一组」成员</b>（3 人）\n• Sam (@sam_supervisor) — 客服、客服主管\n• Alice (@alice_cs) — 客服\n• Bob — 客服"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn help_lists_only_what_the_caller_may_use_here() {
    let app = spawn_app().await;
    app.bind_team(TEAM_GROUP, "天猫一组").await;
    app.say(&ALICE, Chat::Group(TEAM_GROUP), "/help");
    let agent_help = app.reply_in(TEAM_GROUP).await;
    for expected in ["/whoami", "/team", "/duty who", "/help"] {
        assert!(agent_help.contains(expected), "agent help lacks {expected}: {agent_help}");
    }
    for hidden in ["/bind", "/role", "/unbind", "/lang", "/phone", "/claim"] {
        assert!(!agent_help.contains(hidden), "agent help shows {hidden}: {agent_help}");
    }
    app.say(&SAM, Chat::Group(TEAM_GROUP), "/help");
    let supervisor_help = app.reply_in(TEAM_GROUP).await;
    for expected in ["/bind", "/role", "/unbind", "/lang", "/whoami"] {
        assert!(supervisor_help.contains(expected), "supervisor help lacks {expected}: {supervisor_help}");
    }
    app.say(&ALICE, Chat::Private, "/help");
    let private_help = app.reply_to_private(&ALICE).await;
    for expected in ["/phone", "/emergency", "/lang", "/whoami"] {
        assert!(private_help.contains(expected), "private help lacks {expected}: {private_help}");
    }
    assert!(!private_help.contains("/bind"), "{private_help}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duty_defaults_to_the_first_supervisor_and_moves_with_the_duty_command() {
    let app = spawn_app().await;
    app.bind_team(TEAM_GROUP, "天猫一组").await;
    app.say(&ALICE, Chat::Group(TEAM_GROUP), "/duty who");
    assert_eq!(app.reply_in(TEAM_GROUP).await, "当前值班主管：Sam (@sam_supervisor)");
    app.say(&SUE, Chat::Group(TEAM_GROUP), "在");
    app.say(&SAM, Chat::Group(TEAM_GROUP), "/role add supervisor @sue_backup");
    app.reply_in(TEAM_GROUP).await;
    app.say(&SUE, Chat::Group(TEAM_GROUP), "/duty");
    assert_eq!(
        app.reply_in(TEAM_GROUP).await,
        "✅ Sue 现在是值班主管。\n⚠️ 你还没有私聊过我，我无法私信通知你。请先私聊 @floorbot_test_bot 发送 /start。"
    );
    app.say(&SUE, Chat::Private, "/start");
    app.reply_to_private(&SUE).await;
    app.say(&SUE, Chat::Private, "/duty");
    assert_eq!(app.reply_to_private(&SUE).await, "✅ Sue 现在是值班主管。");
    app.say(&ALICE, Chat::Group(TEAM_GROUP), "/duty who");
    assert_eq!(app.reply_in(TEAM_GROUP).await, "当前值班主管：Sue (@sue_backup)");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_supervisors_a_single_use_claim_code_makes_the_first_supervisor() {
    let app = spawn_app_with("").await;
    app.wait_for_row("SELECT COUNT(*) FROM claim_codes WHERE used_by IS NULL").await;
    let code: String =
        sqlx::query_scalar("SELECT code FROM claim_codes WHERE used_by IS NULL").fetch_one(&app.db).await.unwrap();
    assert_eq!(code.len(), 8);
    assert!(code.chars().all(|c| c.is_ascii_alphanumeric()));
    app.say(&ALICE, Chat::Private, "/claim wrongcod");
    assert_eq!(app.reply_to_private(&ALICE).await, "代码无效或已被使用。");
    app.say(&ALICE, Chat::Private, &format!("/claim {code}"));
    assert!(app.reply_to_private(&ALICE).await.starts_with("✅ 你现在是客服主管了。"));
    app.say(&BOB, Chat::Private, &format!("/claim {code}"));
    assert_eq!(app.reply_to_private(&BOB).await, "代码无效或已被使用。");
    app.say(&ALICE, Chat::Group(OTHER_GROUP), "/bind team 抖音组");
    assert_eq!(app.reply_in(OTHER_GROUP).await, "✅ 本群已绑定为客服团队「抖音组」的团队群。");
    app.stop().await;
}
