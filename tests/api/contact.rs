//! Phone numbers and emergency contacts: private only, never repeated in a group, reads recorded.

use crate::fake_telegram;
use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_number_sent_in_a_group_is_refused_deleted_and_not_repeated() {
    let app = spawn_app().await;
    // The bot is an administrator that may delete messages; binding asks Telegram so.
    let bot = app.telegram.bot_user();
    app.telegram.set_chat_member(TEAM_GROUP.id, fake_telegram::chat_member_json(&bot, "administrator"));
    app.bind_team(TEAM_GROUP, "天猫一组").await;
    let message = app.say(&ALICE, Chat::Group(TEAM_GROUP), "/phone +86 138 0013 8000");
    let reply = app.reply_in(TEAM_GROUP).await;
    assert_eq!(reply, "🔒 手机号和紧急联系人只能私聊登记，请私聊 @floorbot_test_bot。\n含号码的消息已删除。");
    let deletes = app.sent("deleteMessage");
    assert_eq!(deletes.len(), 1);
    assert_eq!(deletes[0].body["chat_id"].as_i64(), Some(TEAM_GROUP.id));
    assert_eq!(deletes[0].body["message_id"], message["message_id"]);
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM phone_numbers").fetch_one(&app.db).await.unwrap();
    assert_eq!(stored, 0);
    for sent in app.sent("sendMessage") {
        let text = sent.body["text"].as_str().unwrap_or_default();
        assert!(!text.contains("8000") && !text.contains("138"), "number repeated: {text}");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn where_the_bot_cannot_delete_it_asks_the_sender_to() {
    let app = spawn_app().await;
    app.bind_team(TEAM_GROUP, "天猫一组").await;
    app.telegram.forbid_delete(TEAM_GROUP.id);
    app.say(&ALICE, Chat::Group(TEAM_GROUP), "/emergency 妈妈 +8613900139000");
    let reply = app.reply_in(TEAM_GROUP).await;
    assert!(reply.ends_with("我没有权限删除消息，请尽快自行删除含号码的那条消息。"), "{reply}");
    assert!(!reply.contains("139"), "{reply}");
    // A plain member may not delete: the bot knows it and does not even ask.
    let asked = app.telegram.failed_requests().into_iter().chain(app.sent("deleteMessage"));
    assert_eq!(asked.filter(|request| request.method == "deleteMessage").count(), 0);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_made_administrator_later_deletes_numbers_from_then_on() {
    let app = spawn_app().await;
    app.bind_team(TEAM_GROUP, "天猫一组").await;
    let bot = app.telegram.bot_user();
    app.push(fake_telegram::my_chat_member_update(&TEAM_GROUP.json(), &SAM.json(), &bot, "member", "administrator"));
    app.say(&ALICE, Chat::Group(TEAM_GROUP), "/phone +86 138 0013 8000");
    let reply = app.reply_in(TEAM_GROUP).await;
    assert!(reply.ends_with("含号码的消息已删除。"), "{reply}");
    assert_eq!(app.sent("deleteMessage").len(), 1);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_number_is_registered_shown_masked_and_removed_in_private() {
    let app = spawn_app().await;
    app.say(&ALICE, Chat::Private, "/phone +86 138-0013-8000");
    assert_eq!(app.reply_to_private(&ALICE).await, "✅ 已登记手机号 +86•••••••8000。需要电话通知时会打这个号码。");
    app.say(&ALICE, Chat::Private, "/phone");
    assert_eq!(app.reply_to_private(&ALICE).await, "你登记的手机号：+86•••••••8000");
    let stored: String = sqlx::query_scalar("SELECT number FROM phone_numbers WHERE user_id = ?")
        .bind(ALICE.id)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(stored, "+8613800138000");
    app.say(&ALICE, Chat::Private, "/phone 13800138000");
    assert_eq!(app.reply_to_private(&ALICE).await, "号码需要以 + 和国家代码开头，例如 +8613800138000。");
    app.say(&ALICE, Chat::Private, "/phone rm");
    assert_eq!(app.reply_to_private(&ALICE).await, "已删除你的手机号。");
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM phone_numbers").fetch_one(&app.db).await.unwrap();
    assert_eq!(stored, 0);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_reads_an_emergency_contact_in_private_and_the_read_is_recorded() {
    let app = spawn_app().await;
    app.bind_team(TEAM_GROUP, "天猫一组").await;
    app.say(&ALICE, Chat::Private, "/emergency 妈妈 +86 139 0013 9000");
    assert_eq!(
        app.reply_to_private(&ALICE).await,
        "✅ 已登记紧急联系人 妈妈 +86•••••••9000。仅在联系不上你时由客服主管查看，每次查看都会记录。"
    );
    app.say(&BOB, Chat::Private, "/emergency @alice_cs");
    assert_eq!(app.reply_to_private(&BOB).await, "⛔ /emergency 仅限客服主管使用。");
    app.say(&SAM, Chat::Group(TEAM_GROUP), "/emergency @alice_cs");
    assert!(app.reply_in(TEAM_GROUP).await.starts_with("🔒 手机号和紧急联系人只能私聊登记"));
    app.say(&SAM, Chat::Private, "/emergency @alice_cs");
    assert_eq!(
        app.reply_to_private(&SAM).await,
        "Alice (@alice_cs) 的紧急联系人：妈妈 <code>+8613900139000</code>\n（本次查看已记录）"
    );
    let reads = floorbot::db::contacts::emergency_reads(&app.db, ALICE.id).await.unwrap();
    assert_eq!(reads.len(), 1);
    assert_eq!((reads[0].reader_id, reads[0].subject_id), (SAM.id, ALICE.id));
    let columns: Vec<String> = sqlx::query_scalar("SELECT name FROM pragma_table_info('emergency_contact_reads')")
        .fetch_all(&app.db)
        .await
        .unwrap();
    assert_eq!(columns, vec!["id", "reader_id", "subject_id", "read_at"], "no number is kept with the read");
    app.stop().await;
}
