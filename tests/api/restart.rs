//! Durability across `kill -9`: the real binary on real time, with escalation delays under a
//! second. Steps due while it was down fire once on restart, marked late; none fires for an
//! acknowledged anomaly; nothing fires twice.

use std::process::Stdio;
use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::Value;
use tokio::process::{Child, Command};

use crate::fake_phone::FakePhone;
use crate::fake_telegram::{self, FakeTelegram};
use crate::helpers::{
    ALICE, BASIC_GROUP, OLGA, OPS_GROUP, SAM, SAM_PHONE, SUE, SUE_PHONE, TEAM_GROUP, TOKEN, TWILIO_FROM, TWILIO_SID,
    TWILIO_TOKEN, eventually,
};

const CONFIG: &str = r#"
supervisors = [1001, 1002]

[escalation]
chain = [
  { after = "700ms", actions = ["call", "private", "mention"], target = "duty" },
  { after = "900ms", actions = ["call"], target = "backup" },
]
call_retry = { after = "1s", times = 0 }

# The anomaly acknowledged before the kill is 京东组's: its chain leaves time for the
# acknowledgement, so the test never races its own steps.
[teams."京东组".escalation]
chain = [ { after = "30s", actions = ["call"], target = "duty" } ]
"#;

/// How long after a step is due it counts as late (the bot's own threshold is 2 s).
const DOWN_FOR: Duration = Duration::from_millis(3_200);

/// A floor in the database before the first start: two team groups with a store each, the ops
/// group, Olga in operations, Sam and Sue with registered numbers.
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
        ("INSERT INTO teams (id, name, created_at) VALUES (2, '京东组', ?)", vec![]),
        (
            "INSERT INTO chats (chat_id, chat_type, title, binding, team_id, active, updated_at) VALUES (?, 'group', '京东组', 'team', 2, 1, ?)",
            vec![Value::from(BASIC_GROUP.id)],
        ),
        ("INSERT INTO stores (team_id, platform, name, created_at) VALUES (2, 'jd', '京东自营店', ?)", vec![]),
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
    for group in [TEAM_GROUP, BASIC_GROUP, OPS_GROUP] {
        telegram.remember_chat(group.json());
    }
    let phone = FakePhone::start(TWILIO_SID, TWILIO_TOKEN).await;

    let mut first = start(directory.path(), &telegram, &phone);
    say(&telegram, &ALICE, BASIC_GROUP, "/anomaly 京东自营店 库存 B 款显示有货").await;
    wait_for_text(&telegram, OPS_GROUP.id, "店铺异常 #1").await;
    // The acknowledgement redraws #1's confirmation. An edit under way at a kill is sent again
    // after the restart (Telegram then answers "not modified", harmlessly); this test kills
    // once the redraw has been shown, so every request it sees is one a running bot makes.
    say(&telegram, &OLGA, OPS_GROUP, "/ack 1").await;
    wait_for_text(&telegram, OPS_GROUP.id, "已收到异常 #1").await;
    eventually("#1's confirmation to show the acknowledgement", || async {
        let shown = telegram.message(BASIC_GROUP.id, 2)?;
        shown["text"].as_str()?.contains("店铺异常 #1 · 处理中").then_some(())
    })
    .await;
    say(&telegram, &ALICE, TEAM_GROUP, "/anomaly 旗舰店 价格 A 款标价 9.9").await;
    wait_for_text(&telegram, TEAM_GROUP.id, "#2").await;
    let reported = Instant::now();
    // Killed as soon as #2 is confirmed, before its first step (700 ms) is due.
    first.start_kill().expect("kill -9");
    first.wait().await.expect("killed");
    let db = floorbot::db::connect(&database_url).await.expect("database");
    assert!(kinds(&db, 2).await.iter().all(|kind| !kind.starts_with("step")), "the kill came before the first step");
    assert!(phone.calls().is_empty());

    // Down while both steps fall due, and long enough that both are late on restart.
    tokio::time::sleep(DOWN_FOR.saturating_sub(reported.elapsed())).await;
    let mut second = start(directory.path(), &telegram, &phone);
    assert!(phone.wait_for_calls(2, Duration::from_secs(20)).await, "both late steps fired");
    // Once nothing is left to run for #2, nothing more can fire for it.
    eventually("the restarted bot to finish #2's steps", || async {
        let active: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM jobs WHERE incident_id = 2 AND state IN ('pending', 'running', 'placing')",
        )
        .fetch_one(&db)
        .await
        .expect("count");
        (active == 0).then_some(())
    })
    .await;
    let to: Vec<String> = phone.calls().into_iter().map(|call| call.to).collect();
    assert_eq!(to.len(), 2, "each step once: {to:?}");
    assert!(to.contains(&SAM_PHONE.to_owned()) && to.contains(&SUE_PHONE.to_owned()), "{to:?}");
    for call in phone.calls() {
        assert!(call.said.contains("店铺异常 2 号"), "only the unacknowledged anomaly: {}", call.said);
    }

    let pid = second.id().expect("running").to_string();
    Command::new("kill").args(["-TERM", &pid]).status().await.expect("kill runs");
    tokio::time::timeout(Duration::from_secs(20), second.wait()).await.expect("stops").expect("waits");

    let unacknowledged = kinds(&db, 2).await;
    assert_eq!(unacknowledged.iter().filter(|kind| *kind == "step_late").count(), 2, "{unacknowledged:?}");
    assert_eq!(unacknowledged.iter().filter(|kind| *kind == "call_placed").count(), 2, "{unacknowledged:?}");
    let acknowledged = kinds(&db, 1).await;
    assert!(!acknowledged.iter().any(|kind| kind.starts_with("step") || kind.starts_with("call")), "{acknowledged:?}");
    let waiting: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE incident_id = 1 AND state = 'pending'")
        .fetch_one(&db)
        .await
        .expect("count");
    assert_eq!(waiting, 0, "the acknowledgement cancelled every step of #1");
    assert!(telegram.violations().is_empty(), "{:#?}", telegram.violations());
    assert!(phone.violations().is_empty(), "{:#?}", phone.violations());
    telegram.stop().await;
    phone.stop().await;
}

/// The kinds of an incident's timeline events, in order.
async fn kinds(db: &sqlx::SqlitePool, incident: i64) -> Vec<String> {
    sqlx::query_scalar("SELECT kind FROM incident_events WHERE incident_id = ? ORDER BY id")
        .bind(incident)
        .fetch_all(db)
        .await
        .expect("timeline")
}
