//! A floor under load: two hundred reports in the same second from two hundred teams, each
//! team's chain calling its own people. Every report is filed, every call goes out when it is
//! due — not behind relays waiting for Telegram, not behind a busy database — and nothing is
//! logged as an error.

use std::sync::{Arc, Mutex};

use chrono::Duration as Span;
use floorbot::clock::Clock;
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::Registry;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

use crate::fake_telegram;
use crate::helpers::*;

const TEAMS: i64 = 200;
/// Team `n`'s group, agent and the two people its chain calls.
fn group_id(n: i64) -> i64 {
    -1_002_000_000_000 - n
}
fn agent_id(n: i64) -> i64 {
    50_000 + n
}
fn first_callee(n: i64) -> i64 {
    60_000 + n
}
fn second_callee(n: i64) -> i64 {
    70_000 + n
}
fn number_of(person: i64) -> String {
    format!("+86139{person:08}")
}

/// Counts the error events logged while it is the thread's subscriber.
#[derive(Clone, Default)]
struct Errors(Arc<Mutex<Vec<String>>>);

impl<S: Subscriber> Layer<S> for Errors {
    fn on_event(&self, event: &Event<'_>, _context: Context<'_, S>) {
        if *event.metadata().level() == Level::ERROR {
            let mut message = String::new();
            event.record(&mut |field: &tracing::field::Field, value: &dyn std::fmt::Debug| {
                message.push_str(&format!("{}={value:?} ", field.name()));
            });
            self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(message);
        }
    }
}

fn config() -> String {
    let mut config = String::from("supervisors = [1001]\n");
    for n in 1..=TEAMS {
        config.push_str(&format!(
            "[teams.\"Team{n:03}\".escalation]\nchain = [ {{ after = \"5m\", actions = [\"call\"], target = \"user:{}\" }}, \
             {{ after = \"10m\", actions = [\"call\"], target = \"user:{}\" }} ]\n",
            first_callee(n),
            second_callee(n)
        ));
    }
    config
}

/// Two hundred bound team groups with a store each, the cross-department group, and the
/// people the chains call with their numbers — written straight into the database.
async fn prepare(app: &TestApp) {
    let now = app.clock.now();
    let mut transaction = app.db.begin().await.expect("transaction");
    sqlx::query(
        "INSERT INTO chats (chat_id, chat_type, title, binding, updated_at) VALUES (?, 'supergroup', 'ops', 'ops', ?)",
    )
    .bind(OPS_GROUP.id)
    .bind(now)
    .execute(&mut *transaction)
    .await
    .expect("ops group");
    for n in 1..=TEAMS {
        let team: i64 = sqlx::query_scalar("INSERT INTO teams (name, created_at) VALUES (?, ?) RETURNING id")
            .bind(format!("Team{n:03}"))
            .bind(now)
            .fetch_one(&mut *transaction)
            .await
            .expect("team");
        sqlx::query(
            "INSERT INTO chats (chat_id, chat_type, title, binding, team_id, updated_at) VALUES (?, 'supergroup', ?, 'team', ?, ?)",
        )
        .bind(group_id(n))
        .bind(format!("Team{n:03}"))
        .bind(team)
        .bind(now)
        .execute(&mut *transaction)
        .await
        .expect("group");
        sqlx::query("INSERT INTO stores (team_id, platform, name, created_at) VALUES (?, 'tmall', '旗舰店', ?)")
            .bind(team)
            .bind(now)
            .execute(&mut *transaction)
            .await
            .expect("store");
        for person in [first_callee(n), second_callee(n)] {
            sqlx::query("INSERT INTO people (user_id, first_name, started_private, first_seen, last_seen) VALUES (?, 'S', 1, ?, ?)")
                .bind(person)
                .bind(now)
                .bind(now)
                .execute(&mut *transaction)
                .await
                .expect("person");
            sqlx::query("INSERT INTO phone_numbers (user_id, number, updated_at) VALUES (?, ?, ?)")
                .bind(person)
                .bind(number_of(person))
                .bind(now)
                .execute(&mut *transaction)
                .await
                .expect("number");
        }
    }
    transaction.commit().await.expect("commit");
}

#[test]
fn two_hundred_reports_in_one_second_are_all_filed_and_every_call_goes_out_on_time() {
    let errors = Errors::default();
    let dispatch = tracing::Dispatch::new(Registry::default().with(errors.clone()));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .on_thread_start({
            let dispatch = dispatch.clone();
            // Every worker logs into the counter for as long as it lives.
            move || std::mem::forget(tracing::dispatcher::set_default(&dispatch))
        })
        .build()
        .expect("runtime");
    let _main = tracing::dispatcher::set_default(&dispatch);
    runtime.block_on(async {
        let app = spawn_app_with_phone(&config()).await;
        prepare(&app).await;
        for n in 1..=TEAMS {
            let group = fake_telegram::supergroup_chat_json(group_id(n), &format!("Team{n:03}"));
            app.telegram.remember_chat(group.clone());
            let agent = fake_telegram::user_json(agent_id(n), "Agent", None, Some("zh-hans"));
            let message_id = app.telegram.next_message_id(group_id(n));
            app.push(fake_telegram::text_message_update(
                message_id,
                &group,
                &agent,
                "/anomaly 旗舰店 价格 标错了",
                None,
            ));
        }
        let reported_at = app.clock.now();
        eventually("every report filed", || async {
            let filed: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM incidents").fetch_one(&app.db).await.ok()?;
            (filed == TEAMS).then_some(())
        })
        .await;
        let calls = usize::try_from(TEAMS).expect("count");
        for (step, minutes) in [(1, 5), (2, 10)] {
            let due = reported_at + Span::minutes(minutes);
            app.advance(due - app.clock.now()).await;
            assert!(app.phone().wait_for_calls(calls * step, WAIT * 3).await, "every call of step {step}");
            let placed = app.phone().calls();
            for call in &placed[calls * (step - 1)..] {
                assert!(call.created - due <= Span::milliseconds(100), "placed at {} for {due}", call.created);
            }
            let mut callees: Vec<String> = placed[calls * (step - 1)..].iter().map(|call| call.to.clone()).collect();
            callees.sort();
            callees.dedup();
            assert_eq!(callees.len(), calls, "each team's own person, once");
        }
        let logged = errors.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone();
        assert!(logged.is_empty(), "errors logged: {logged:#?}");
        app.stop().await;
    });
}
