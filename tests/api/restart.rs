//! Durability across `kill -9`: the real binary on real time, with escalation delays of
//! seconds. Steps due while it was down fire once on restart, marked late; none fires for an
//! acknowledged anomaly; nothing fires twice.

use std::process::Stdio;
use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::Value;
use tokio::process::{Child, Command};

use crate::fake_phone::FakePhone;
use crate::fake_telegram::{self, FakeTelegram};
use crate::helpers::{
    ALICE, OLGA, OPS_GROUP, SAM, SAM_PHONE, SUE, SUE_PHONE, TEAM_GROUP, TOKEN, TWILIO_FROM, TWILIO_SID, TWILIO_TOKEN,
};

const CONFIG: &str = r#"
supervisors = [1001, 1002]

[escalation]
chain = [
  { after = "6s", actions = ["call", "private", "mention"], target = "duty" },
  { after = "9s", actions = ["call"], target = "backup" },
]
call_retry = { after = "1s", times = 0 }
"#;

/// A floor in the database before the first start: one team group with a store, the ops group,
/// Olga in operations, Sam and Sue with registered numbers.
async fn prepare(database_url: &str) {
    let db = floorbot::db::connect_and_migrate(database_url).await.expect("database");
    let now = Utc::now();
    let statements: Vec<(&str, Vec<Value>)> = vec![
        ("INSERT INTO teams (id, name, created_at) VALUES (1, '天猫一组', ?)", vec![]),
        (
            "INSERT INTO chats (chat_id, chat_type, title, binding, team_id, active, updated_at) VALUES (?, 'supergroup', '天猫一组', 'team', 1, 1, ?)",
            vec![Value::from(TEAM_GROUP.id)],
        ),
        (
            "INSERT INTO chats (chat_id, chat_type, title, binding, active, updated_at) VALUES (?, 'supergroup', '跨部门沟通群', 'ops', 1, ?)",
            vec![Value::from(OPS_GROUP.id)],
        ),
        ("INSERT INTO stores (team_id, platform, name, created_at) VALUES (1, 'tmall', '旗舰店', ?)", vec![]),
    ];
    for (sql, leading) in statements {
        let mut query = sqlx::query(sql);
        for value in leading {
            query = query.bind(value.as_i64().expect("id"));
        }
        query.bind(now).execute(&db).await.expect("prepared");
    }
    for (person, username) in [(SAM, "sam_supervisor"), (SUE, "sue_backup"), (ALICE, "alice_cs"), (OLGA, "olga_ops")] {
        sqlx::query(
            "INSERT INTO people (user_id, first_name, username, started_private, first_seen, last_seen) VALUES (?, ?, ?, 1, ?, ?)",
        )
        .bind(person.id)
        .bind(person.first_name)
        .bind(username)
        .bind(now)
        .bind(now)
        .execute(&db)
        .await
        .expect("person");
    }
    for (person, number) in [(SAM, SAM_PHONE), (SUE, SUE_PHONE)] {
        sqlx::query("INSERT INTO phone_numbers (user_id, number, updated_at) VALUES (?, ?, ?)")
            .bind(person.id)
            .bind(number)
            .bind(now)
            .execute(&db)
            .await
            .expect("phone");
    }
    sqlx::query("INSERT INTO roles (user_id, role, granted_at) VALUES (?, 'ops', ?)")
        .bind(OLGA.id)
        .bind(now)
        .execute(&db)
        .await
        .expect("role");
    db.close().await;
}

fn start(directory: &std::path::Path, telegram: &FakeTelegram, phone: &FakePhone) -> Child {
    let log =
        std::fs::OpenOptions::new().create(true).append(true).open(directory.join("floorbot.log")).expect("log file");
    Command::new(env!("CARGO_BIN_EXE_floorbot"))
        .arg("run")
        .current_dir(directory)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "info")
        .env("TELOXIDE_TOKEN", TOKEN)
        .env("TELOXIDE_API_URL", telegram.api_url())
        .env("TWILIO_ACCOUNT_SID", TWILIO_SID)
        .env("TWILIO_AUTH_TOKEN", TWILIO_TOKEN)
        .env("TWILIO_FROM_NUMBER", TWILIO_FROM)
        .env("TWILIO_API_URL", phone.base_url())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .expect("floorbot starts")
}

async fn say(telegram: &FakeTelegram, who: &crate::helpers::Person, group: crate::helpers::Group, text: &str) {
    let chat = group.json();
    let id = telegram.next_message_id(group.id);
    telegram.push_update(fake_telegram::text_message_update(id, &chat, &who.json(), text, None));
}

async fn wait_for_text(telegram: &FakeTelegram, chat_id: i64, needle: &str) {
    let found = telegram
        .wait_for(0, Duration::from_secs(20), |recorded| {
            recorded.method == "sendMessage"
                && recorded.body["chat_id"].as_i64() == Some(chat_id)
                && recorded.body["text"].as_str().is_some_and(|text| text.contains(needle))
        })
        .await;
    assert!(found.is_some(), "no message with {needle:?} in {chat_id}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steps_pending_at_a_kill_fire_once_after_restart_and_never_after_an_ack() {
    let directory = tempfile::tempdir().expect("temp dir");
    std::fs::write(directory.path().join("floorbot.toml"), CONFIG).expect("config");
    let database_url = format!("sqlite://{}", directory.path().join("floorbot.db").display());
    prepare(&database_url).await;
    let telegram = FakeTelegram::start().await;
    telegram.remember_chat(TEAM_GROUP.json());
    telegram.remember_chat(OPS_GROUP.json());
    let phone = FakePhone::start(TWILIO_SID, TWILIO_TOKEN).await;

    let mut first = start(directory.path(), &telegram, &phone);
    let reported = Instant::now();
    say(&telegram, &ALICE, TEAM_GROUP, "/anomaly 旗舰店 价格 A 款标价 9.9").await;
    say(&telegram, &ALICE, TEAM_GROUP, "/anomaly 旗舰店 库存 B 款显示有货").await;
    wait_for_text(&telegram, OPS_GROUP.id, "店铺异常 #2").await;
    say(&telegram, &OLGA, OPS_GROUP, "/ack 2").await;
    wait_for_text(&telegram, OPS_GROUP.id, "已收到异常 #2").await;
    // Killed before the first step (6 s) is due.
    first.start_kill().expect("kill -9");
    first.wait().await.expect("killed");
    assert!(reported.elapsed() < Duration::from_secs(6), "the kill came before the first step");
    assert!(phone.calls().is_empty());

    // Down while both steps fall due, and long enough that both are late on restart.
    tokio::time::sleep(Duration::from_secs(13).saturating_sub(reported.elapsed())).await;
    let mut second = start(directory.path(), &telegram, &phone);
    assert!(phone.wait_for_calls(2, Duration::from_secs(20)).await, "both late steps fired");
    // Long enough for any duplicate or retry to show.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let to: Vec<String> = phone.calls().into_iter().map(|call| call.to).collect();
    assert_eq!(to.len(), 2, "each step once: {to:?}");
    assert!(to.contains(&SAM_PHONE.to_owned()) && to.contains(&SUE_PHONE.to_owned()), "{to:?}");
    for call in phone.calls() {
        assert!(call.said.contains("店铺异常 1 号"), "only the unacknowledged anomaly: {}", call.said);
    }

    let pid = second.id().expect("running").to_string();
    Command::new("kill").args(["-TERM", &pid]).status().await.expect("kill runs");
    tokio::time::timeout(Duration::from_secs(20), second.wait()).await.expect("stops").expect("waits");

    let db = floorbot::db::connect(&database_url).await.expect("database");
    let kinds = |incident: i64| {
        let db = db.clone();
        async move {
            sqlx::query_scalar::<_, String>("SELECT kind FROM incident_events WHERE incident_id = ? ORDER BY id")
                .bind(incident)
                .fetch_all(&db)
                .await
                .expect("timeline")
        }
    };
    let first_timeline = kinds(1).await;
    assert_eq!(first_timeline.iter().filter(|kind| *kind == "step_late").count(), 2, "{first_timeline:?}");
    assert_eq!(first_timeline.iter().filter(|kind| *kind == "call_placed").count(), 2, "{first_timeline:?}");
    let second_timeline = kinds(2).await;
    assert!(
        !second_timeline.iter().any(|kind| kind.starts_with("step") || kind.starts_with("call")),
        "{second_timeline:?}"
    );
    assert!(telegram.violations().is_empty(), "{:#?}", telegram.violations());
    assert!(phone.violations().is_empty(), "{:#?}", phone.violations());
    telegram.stop().await;
    phone.stop().await;
}
