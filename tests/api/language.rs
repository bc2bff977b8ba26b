//! Languages, command menus and HTML escaping.

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn menus_are_registered_at_start_in_chinese_by_default_and_in_english() {
    let app = spawn_app().await;
    app.bind_team(TEAM_GROUP, "天猫一组").await;
    let menus = eventually("the menus", || async {
        let menus = app.sent("setMyCommands");
        (menus.len() >= 4).then_some(menus)
    })
    .await;
    let summary: Vec<(String, Option<String>)> = menus
        .iter()
        .map(|m| {
            (
                m.body["scope"]["type"].as_str().unwrap_or("").to_owned(),
                m.body["language_code"].as_str().map(str::to_owned),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("all_private_chats".to_owned(), None),
            ("all_private_chats".to_owned(), Some("en".to_owned())),
            ("all_group_chats".to_owned(), None),
            ("all_group_chats".to_owned(), Some("en".to_owned())),
        ]
    );
    let chinese_help =
        menus[0].body["commands"].as_array().unwrap().iter().find(|c| c["command"] == "help").cloned().unwrap();
    assert_eq!(chinese_help["description"], "查看可用命令");
    let english_help =
        menus[1].body["commands"].as_array().unwrap().iter().find(|c| c["command"] == "help").cloned().unwrap();
    assert_eq!(english_help["description"], "Commands you can use");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lang_switches_a_chat_and_its_menu_to_english_and_back() {
    let app = spawn_app().await;
    app.bind_team(TEAM_GROUP, "天猫一组").await;
    app.say(&SAM, Chat::Group(TEAM_GROUP), "/lang en");
    assert_eq!(app.reply_in(TEAM_GROUP).await, "✅ This chat now uses English.");
    app.say(&ALICE, Chat::Group(TEAM_GROUP), "/whoami");
    assert_eq!(app.reply_in(TEAM_GROUP).await, "Alice (@alice_cs)\nID: <code>2001</code>\nRoles: agent");
    app.say(&ALICE, Chat::Group(TEAM_GROUP), "/bind ops");
    assert_eq!(app.reply_in(TEAM_GROUP).await, "⛔ /bind is for supervisor only.");
    let chat_menu = eventually("the chat's menu", || async {
        app.sent("setMyCommands").into_iter().find(|m| m.body["scope"]["type"] == "chat")
    })
    .await;
    assert_eq!(chat_menu.body["scope"]["chat_id"].as_i64(), Some(TEAM_GROUP.id));
    assert!(chat_menu.body.get("language_code").is_none());
    assert!(chat_menu.body["commands"].as_array().unwrap().iter().any(|c| c["description"] == "Members of this group"));

    app.say(&ALICE, Chat::Private, "/lang en");
    assert_eq!(app.reply_to_private(&ALICE).await, "✅ This chat now uses English.");
    app.moment().await;
    app.say(&SAM, Chat::Group(TEAM_GROUP), "/lang zh");
    assert_eq!(app.reply_in(TEAM_GROUP).await, "✅ 本聊天已切换为中文。");
    app.say(&ALICE, Chat::Group(TEAM_GROUP), "/lang fr");
    assert!(app.reply_in(TEAM_GROUP).await.starts_with("⛔ /lang"));
    app.say(&ALICE, Chat::Private, "/lang klingon");
    assert_eq!(app.reply_to_private(&ALICE).await, "“klingon” is not supported. Choose zh (中文) or en (English).");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_provided_names_are_shown_literally() {
    let app = spawn_app().await;
    app.say(&SAM, Chat::Group(TEAM_GROUP), "/bind team <i>A&B</i>");
    assert_eq!(app.reply_in(TEAM_GROUP).await, "✅ 本群已绑定为客服团队「&lt;i&gt;A&amp;B&lt;/i&gt;」的团队群。");
    app.say(&TOM, Chat::Group(TEAM_GROUP), "/whoami");
    let whoami = app.reply_in(TEAM_GROUP).await;
    assert!(whoami.starts_with("&lt;b&gt;Tom &amp; &quot;Jerry&quot;&lt;/b&gt;\n"), "{whoami}");
    app.say(&TOM, Chat::Group(TEAM_GROUP), "/team");
    let team = app.reply_in(TEAM_GROUP).await;
    assert!(team.starts_with("<b>团队「&lt;i&gt;A&amp;B&lt;/i&gt;」成员</b>"), "{team}");
    assert!(team.contains("• &lt;b&gt;Tom &amp; &quot;Jerry&quot;&lt;/b&gt; — 客服"), "{team}");
    app.say(&SAM, Chat::Group(TEAM_GROUP), "/role add <b>x</b> @alice_cs");
    assert!(app.reply_in(TEAM_GROUP).await.starts_with("没有「&lt;b&gt;x&lt;/b&gt;」这个角色"));
    // The fake rejects any message whose HTML Telegram would not parse; stop() checks it.
    app.stop().await;
}
