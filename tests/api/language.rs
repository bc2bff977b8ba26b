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
    let names = |menu: &crate::fake_telegram::Recorded| -> Vec<String> {
        menu.body["commands"].as_array().unwrap().iter().map(|c| c["command"].as_str().unwrap().to_owned()).collect()
    };
    for command in ["incident", "ack", "resolve", "anomalies", "phone"] {
        assert!(
            names(&menus[0]).contains(&command.to_owned()),
            "private menu lacks /{command}: {:?}",
            names(&menus[0])
        );
    }
    for command in ["patrol", "anomaly", "stores", "bind"] {
        assert!(names(&menus[2]).contains(&command.to_owned()), "group menu lacks /{command}: {:?}", names(&menus[2]));
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cross_department_group_has_a_menu_of_its_own() {
    let app = spawn_app().await;
    app.bind_ops(OPS_GROUP).await;
    let chat_menus = || {
        app.sent("setMyCommands")
            .into_iter()
            .filter(|m| m.body["scope"]["type"] == "chat" && m.body["scope"]["chat_id"].as_i64() == Some(OPS_GROUP.id))
            .collect::<Vec<_>>()
    };
    let names = |menu: &crate::fake_telegram::Recorded| -> Vec<String> {
        menu.body["commands"].as_array().unwrap().iter().map(|c| c["command"].as_str().unwrap().to_owned()).collect()
    };
    let menu = eventually("the ops group's menu", || async { chat_menus().first().cloned() }).await;
    let commands = names(&menu);
    for command in ["ack", "resolve", "incident", "anomalies", "help", "duty"] {
        assert!(commands.contains(&command.to_owned()), "ops menu lacks /{command}: {commands:?}");
    }
    for command in ["anomaly", "stores", "store", "patrol", "bind", "phone"] {
        assert!(!commands.contains(&command.to_owned()), "ops menu offers /{command}: {commands:?}");
    }
    let ack = menu.body["commands"].as_array().unwrap().iter().find(|c| c["command"] == "ack").cloned().unwrap();
    assert_eq!(ack["description"], "收到异常，我来处理");

    app.say(&SAM, Chat::Group(OPS_GROUP), "/lang en");
    assert_eq!(app.reply_in(OPS_GROUP).await, "✅ This chat now uses English.");
    let english = eventually("the ops group's menu in English", || async {
        chat_menus().into_iter().find(|m| {
            m.body["commands"].as_array().unwrap().iter().any(|c| c["description"] == "Acknowledge an anomaly")
        })
    })
    .await;
    assert_eq!(names(&english), commands, "the same commands, in English");

    // Once it is no longer the cross-department group, it shows the group menu again.
    app.say(&SAM, Chat::Group(OPS_GROUP), "/unbind");
    assert_eq!(app.reply_in(OPS_GROUP).await, "This group is no longer bound.");
    let group_menu = eventually("the group menu back", || async {
        chat_menus().into_iter().find(|m| names(m).contains(&"bind".to_owned()))
    })
    .await;
    assert!(names(&group_menu).contains(&"patrol".to_owned()), "{:?}", names(&group_menu));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lang_names_the_language_and_english_schedules_read_in_words() {
    let app = spawn_app().await;
    app.bind_team(TEAM_GROUP, "天猫一组").await;
    app.say(&ALICE, Chat::Private, "/lang");
    assert_eq!(
        app.reply_to_private(&ALICE).await,
        "当前语言：中文。切换：<code>/lang zh</code>（中文）或 <code>/lang en</code>（English）"
    );
    app.say(&ALICE, Chat::Private, "/lang en");
    app.reply_to_private(&ALICE).await;
    app.say(&ALICE, Chat::Private, "/lang");
    assert_eq!(
        app.reply_to_private(&ALICE).await,
        "Current language: English. Switch with <code>/lang zh</code> (中文) or <code>/lang en</code> (English)."
    );
    app.say(&SAM, Chat::Group(TEAM_GROUP), "/lang en");
    app.reply_in(TEAM_GROUP).await;
    app.say(&SAM, Chat::Group(TEAM_GROUP), "/patrol schedule 08:00 weekdays deadline 09:00");
    assert_eq!(app.reply_in(TEAM_GROUP).await, "✅ Patrol: Mon–Fri at 08:00, due 09:00. Next: Tue 3 Mar.");
    app.say(&SAM, Chat::Group(TEAM_GROUP), "/patrol schedule 07:30 every day");
    assert_eq!(app.reply_in(TEAM_GROUP).await, "✅ Patrol: every day at 07:30, due 08:30. Next: Tue 3 Mar.");
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
    assert_eq!(
        app.reply_to_private(&ALICE).await,
        "“klingon” is not supported. Choose <code>zh</code> (中文) or <code>en</code> (English)."
    );
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
