//! The morning patrol (日常巡店): the daily checklist each team works through, prompted at a
//! scheduled time, ticked off in the team group, chased until done, and kept as history.
//!
//! A day's checklist is a snapshot of the team's steps (its own, or the default ten), so
//! editing steps never rewrites history. Step 1 (account logins) unfolds into the team's
//! stores. Findings become incidents routed by severity: blue is recorded, yellow alerts the
//! supervisor on duty, red goes to operations and runs the escalation chain. Starting, the
//! reminder and the deadline are durable jobs in [`crate::scheduler`].

pub mod commands;
pub mod schedule;

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{FromRow, Sqlite, SqlitePool, Transaction};
use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};

use self::schedule::{Days, LocalTime, Schedule};
use crate::i18n::{Arg, I18n, Lang};
use crate::incident::{self, EventKind, Severity};
use crate::scheduler::{self, JobKind};
use crate::store;
use crate::team::{self, Role};
use crate::telegram::Floor;
use crate::telegram::callback::{CallbackData, PatrolTick};
use crate::telegram::lane::SendOptions;
use crate::{t, tp};

/// Telegram shows at most about 100 buttons on one message.
const BUTTON_LIMIT: usize = 100;
/// How long someone has to type an N/A reason or an issue's note.
const ANSWER_MINUTES: i64 = 10;

/// One step of a checklist, as configured or as the default.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepText {
    /// `logins` unfolds into the team's stores; anything else is one item.
    pub kind: String,
    pub title: String,
    pub check: String,
    pub fix: String,
}

/// The ten default steps of domain practice, in `lang`.
pub fn default_steps(i18n: &I18n, lang: Lang) -> Vec<StepText> {
    let texts = [
        (
            tp!(i18n, lang, "patrol-step-1-title"),
            tp!(i18n, lang, "patrol-step-1-check"),
            tp!(i18n, lang, "patrol-step-1-fix"),
        ),
        (
            tp!(i18n, lang, "patrol-step-2-title"),
            tp!(i18n, lang, "patrol-step-2-check"),
            tp!(i18n, lang, "patrol-step-2-fix"),
        ),
        (
            tp!(i18n, lang, "patrol-step-3-title"),
            tp!(i18n, lang, "patrol-step-3-check"),
            tp!(i18n, lang, "patrol-step-3-fix"),
        ),
        (
            tp!(i18n, lang, "patrol-step-4-title"),
            tp!(i18n, lang, "patrol-step-4-check"),
            tp!(i18n, lang, "patrol-step-4-fix"),
        ),
        (
            tp!(i18n, lang, "patrol-step-5-title"),
            tp!(i18n, lang, "patrol-step-5-check"),
            tp!(i18n, lang, "patrol-step-5-fix"),
        ),
        (
            tp!(i18n, lang, "patrol-step-6-title"),
            tp!(i18n, lang, "patrol-step-6-check"),
            tp!(i18n, lang, "patrol-step-6-fix"),
        ),
        (
            tp!(i18n, lang, "patrol-step-7-title"),
            tp!(i18n, lang, "patrol-step-7-check"),
            tp!(i18n, lang, "patrol-step-7-fix"),
        ),
        (
            tp!(i18n, lang, "patrol-step-8-title"),
            tp!(i18n, lang, "patrol-step-8-check"),
            tp!(i18n, lang, "patrol-step-8-fix"),
        ),
        (
            tp!(i18n, lang, "patrol-step-9-title"),
            tp!(i18n, lang, "patrol-step-9-check"),
            tp!(i18n, lang, "patrol-step-9-fix"),
        ),
        (
            tp!(i18n, lang, "patrol-step-10-title"),
            tp!(i18n, lang, "patrol-step-10-check"),
            tp!(i18n, lang, "patrol-step-10-fix"),
        ),
    ];
    texts
        .into_iter()
        .enumerate()
        .map(|(index, (title, check, fix))| StepText {
            kind: if index == 0 { "logins".to_owned() } else { "check".to_owned() },
            title,
            check,
            fix,
        })
        .collect()
}

/// The team's steps: its own if it has any, else the default ten in `lang`.
pub async fn steps(floor: &Floor, team_id: i64, lang: Lang) -> sqlx::Result<Vec<StepText>> {
    let own: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT kind, title, check_text, fix_text FROM patrol_steps WHERE team_id = ? ORDER BY position, id",
    )
    .bind(team_id)
    .fetch_all(&floor.db)
    .await?;
    if own.is_empty() {
        return Ok(default_steps(&floor.i18n, lang));
    }
    Ok(own.into_iter().map(|(kind, title, check, fix)| StepText { kind, title, check, fix }).collect())
}

#[derive(Clone, Debug, Default, FromRow)]
struct SettingsRow {
    at: Option<String>,
    days: Option<String>,
    deadline: Option<String>,
    owner_id: Option<i64>,
}

async fn settings(db: &SqlitePool, team_id: i64) -> sqlx::Result<SettingsRow> {
    Ok(sqlx::query_as("SELECT at, days, deadline, owner_id FROM patrol_settings WHERE team_id = ?")
        .bind(team_id)
        .fetch_optional(db)
        .await?
        .unwrap_or_default())
}

/// The schedule in force: set by command, else the configuration file, else 08:30 daily.
pub async fn effective_schedule(floor: &Floor, team_id: i64, team_name: &str) -> sqlx::Result<Schedule> {
    let timezone = floor.config.timezone_for(team_name);
    let stored = settings(&floor.db, team_id).await?;
    if let (Some(at), Some(days)) = (stored.at.as_deref(), stored.days.as_deref())
        && let (Ok(at), Ok(days)) = (LocalTime::parse(at), Days::parse(days))
    {
        let deadline = stored.deadline.as_deref().and_then(|text| LocalTime::parse(text).ok());
        if let Ok(schedule) = Schedule::new(at, days, deadline, timezone) {
            return Ok(schedule);
        }
    }
    if let Some(file) = floor.config.patrol_for(team_name)
        && let Ok(schedule) = Schedule::new(file.at, file.days, file.deadline, timezone)
    {
        return Ok(schedule);
    }
    Ok(Schedule::default_in(timezone))
}

/// Who is responsible on `date`: the named person, else a rotation among the team's leads
/// (by day), else the supervisor on duty.
pub async fn owner_for(floor: &Floor, team_id: i64, date: NaiveDate) -> sqlx::Result<Option<i64>> {
    if let Some(owner) = settings(&floor.db, team_id).await?.owner_id {
        return Ok(Some(owner));
    }
    let leads = team_leads(&floor.db, team_id).await?;
    if !leads.is_empty() {
        let day = usize::try_from(chrono::Datelike::num_days_from_ce(&date)).unwrap_or_default();
        return Ok(leads.get(day % leads.len()).copied());
    }
    team::on_duty(&floor.db, &floor.config).await
}

/// The leads seen in the team's group, in the order they were made leads.
async fn team_leads(db: &SqlitePool, team_id: i64) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(
        "SELECT roles.user_id FROM roles
         JOIN chat_members ON chat_members.user_id = roles.user_id
         JOIN chats ON chats.chat_id = chat_members.chat_id
         WHERE roles.role = 'lead' AND chats.team_id = ? AND chats.binding = 'team' AND chats.active = 1
         ORDER BY roles.id",
    )
    .bind(team_id)
    .fetch_all(db)
    .await
}

/// The team's live group, if bound.
async fn team_chat(db: &SqlitePool, team_id: i64) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar("SELECT chat_id FROM chats WHERE team_id = ? AND binding = 'team' AND active = 1")
        .bind(team_id)
        .fetch_optional(db)
        .await
}

/// (Re)plans a team's next patrol: its start job replaces any pending one. A changed schedule
/// therefore takes effect at its next occurrence, and nothing is posted late for a time that
/// passed before the change.
pub async fn plan_next(floor: &Floor, team_id: i64, after: DateTime<Utc>) -> anyhow::Result<()> {
    let name = team::team_name(&floor.db, team_id).await?;
    let schedule = effective_schedule(floor, team_id, &name).await?;
    let mut transaction = crate::db::begin(&floor.db).await?;
    sqlx::query(
        "UPDATE jobs SET state = 'cancelled' WHERE kind = 'patrol_start' AND state = 'pending' AND person_id = ?",
    )
    .bind(team_id)
    .execute(&mut *transaction)
    .await?;
    if team_chat(&floor.db, team_id).await?.is_some()
        && let Some((date, starts_at)) = schedule.next_start_after(after)
    {
        let payload = date.format("%Y-%m-%d").to_string();
        scheduler::enqueue(&mut transaction, JobKind::PatrolStart, None, Some(team_id), Some(&payload), starts_at)
            .await?;
    }
    transaction.commit().await?;
    floor.scheduler.wake();
    Ok(())
}

/// At start: every bound team without a planned patrol gets one (a pending start left by the
/// last run stays, so a patrol missed while the bot was down is still posted, late).
pub async fn plan_all(floor: &Floor) -> anyhow::Result<()> {
    let teams: Vec<i64> = sqlx::query_scalar(
        "SELECT chats.team_id FROM chats WHERE chats.binding = 'team' AND chats.active = 1
         AND NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.kind = 'patrol_start' AND jobs.state IN ('pending', 'running')
                         AND jobs.person_id = chats.team_id)",
    )
    .fetch_all(&floor.db)
    .await?;
    let now = floor.clock.now();
    for team_id in teams {
        plan_next(floor, team_id, now).await?;
    }
    Ok(())
}

/// A planned start came due: post the day's checklist (late if the bot was down), unless the
/// deadline already passed; then plan the next one.
pub async fn start_job(floor: &Floor, team_id: i64, date_text: &str) -> anyhow::Result<()> {
    let now = floor.clock.now();
    let Ok(date) = NaiveDate::parse_from_str(date_text, "%Y-%m-%d") else { return Ok(()) };
    let name = team::team_name(&floor.db, team_id).await?;
    let schedule = effective_schedule(floor, team_id, &name).await?;
    if schedule.due_but_not_late(date, now) {
        let late = schedule.start_on(date).is_some_and(|start| (now - start).num_seconds() > 60);
        post(floor, team_id, date, &schedule, late).await?;
    } else {
        tracing::warn!(team_id, %date, "a patrol start came due after its deadline; not posted");
    }
    let after = schedule.start_on(date).map_or(now, |start| start.max(now));
    plan_next(floor, team_id, after).await
}

/// Records the day's patrol and its checklist snapshot, with its reminder and deadline, in
/// one transaction; the message follows as a job. Returns None if it was already posted.
pub async fn post(
    floor: &Floor,
    team_id: i64,
    date: NaiveDate,
    schedule: &Schedule,
    late: bool,
) -> anyhow::Result<Option<i64>> {
    let Some(chat_id) = team_chat(&floor.db, team_id).await? else { return Ok(None) };
    let now = floor.clock.now();
    let (Some(starts_at), Some(deadline_at)) = (schedule.start_on(date), schedule.deadline_on(date)) else {
        // Posted by hand on a day without a patrol: the window is from now to its deadline time.
        return post_on(floor, team_id, chat_id, date, now, now + chrono::Duration::hours(1), late).await;
    };
    post_on(floor, team_id, chat_id, date, starts_at, deadline_at.max(now + chrono::Duration::minutes(1)), late).await
}

async fn post_on(
    floor: &Floor,
    team_id: i64,
    chat_id: i64,
    date: NaiveDate,
    starts_at: DateTime<Utc>,
    deadline_at: DateTime<Utc>,
    late: bool,
) -> anyhow::Result<Option<i64>> {
    let now = floor.clock.now();
    let lang = floor.chat_language(chat_id).await;
    let steps = steps(floor, team_id, lang).await?;
    let stores = store::list(&floor.db, team_id).await?;
    let owner = owner_for(floor, team_id, date).await?;
    let mut transaction = crate::db::begin(&floor.db).await?;
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO patrols (team_id, local_date, chat_id, owner_id, starts_at, deadline_at, posted_at, posted_late)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (team_id, local_date) DO NOTHING RETURNING id",
    )
    .bind(team_id)
    .bind(date.format("%Y-%m-%d").to_string())
    .bind(chat_id)
    .bind(owner)
    .bind(starts_at)
    .bind(deadline_at)
    .bind(now)
    .bind(late)
    .fetch_optional(&mut *transaction)
    .await?;
    let Some(patrol_id) = id else { return Ok(None) };
    for (index, step) in steps.iter().enumerate() {
        let position = i64::try_from(index + 1).unwrap_or(i64::MAX);
        if step.kind == "logins" && !stores.is_empty() {
            for store in &stores {
                insert_item(&mut transaction, patrol_id, position, step, Some(store.id)).await?;
            }
        } else {
            insert_item(&mut transaction, patrol_id, position, step, None).await?;
        }
    }
    let reminder_at = (deadline_at - chrono::Duration::minutes(15)).max(starts_at).max(now);
    let payload = patrol_id.to_string();
    scheduler::enqueue(&mut transaction, JobKind::PatrolReminder, None, None, Some(&payload), reminder_at).await?;
    scheduler::enqueue(&mut transaction, JobKind::PatrolDeadline, None, None, Some(&payload), deadline_at).await?;
    enqueue_refresh(&mut transaction, patrol_id, now).await?;
    transaction.commit().await?;
    floor.scheduler.wake();
    Ok(Some(patrol_id))
}

async fn insert_item(
    transaction: &mut Transaction<'_, Sqlite>,
    patrol_id: i64,
    position: i64,
    step: &StepText,
    store_id: Option<i64>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO patrol_items (patrol_id, position, kind, title, check_text, fix_text, store_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(patrol_id)
    .bind(position)
    .bind(&step.kind)
    .bind(&step.title)
    .bind(&step.check)
    .bind(&step.fix)
    .bind(store_id)
    .execute(&mut **transaction)
    .await?;
    Ok(())
}

/// Asks for the checklist message to be (re)drawn; several ticks share one pending refresh.
pub async fn enqueue_refresh(
    transaction: &mut Transaction<'_, Sqlite>,
    patrol_id: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO jobs (kind, payload, due_at, created_at, updated_at)
         SELECT 'patrol_refresh', ?1, ?2, ?2, ?2
         WHERE NOT EXISTS (SELECT 1 FROM jobs WHERE kind = 'patrol_refresh' AND payload = ?1 AND state = 'pending')",
    )
    .bind(patrol_id.to_string())
    .bind(now)
    .execute(&mut **transaction)
    .await?;
    Ok(())
}

#[derive(Clone, Debug, FromRow)]
pub struct Patrol {
    pub id: i64,
    pub team_id: i64,
    pub local_date: String,
    pub chat_id: i64,
    pub owner_id: Option<i64>,
    pub starts_at: DateTime<Utc>,
    pub deadline_at: DateTime<Utc>,
    pub posted_at: DateTime<Utc>,
    pub posted_late: bool,
    pub message_id: Option<i64>,
    pub stores_message_id: Option<i64>,
    pub completed_at: Option<DateTime<Utc>>,
    pub completed_by: Option<i64>,
    pub escalated_at: Option<DateTime<Utc>>,
}

macro_rules! patrol_columns {
    () => {
        "id, team_id, local_date, chat_id, owner_id, starts_at, deadline_at, posted_at, posted_late, message_id,
         stores_message_id, completed_at, completed_by, escalated_at"
    };
}

pub async fn get(db: &SqlitePool, id: i64) -> sqlx::Result<Option<Patrol>> {
    sqlx::query_as(concat!("SELECT ", patrol_columns!(), " FROM patrols WHERE id = ?"))
        .bind(id)
        .fetch_optional(db)
        .await
}

pub async fn for_day(db: &SqlitePool, team_id: i64, date: NaiveDate) -> sqlx::Result<Option<Patrol>> {
    sqlx::query_as(concat!("SELECT ", patrol_columns!(), " FROM patrols WHERE team_id = ? AND local_date = ?"))
        .bind(team_id)
        .bind(date.format("%Y-%m-%d").to_string())
        .fetch_optional(db)
        .await
}

#[derive(Clone, Debug, FromRow)]
pub struct Item {
    pub id: i64,
    pub patrol_id: i64,
    pub position: i64,
    pub kind: String,
    pub title: String,
    pub check_text: String,
    pub fix_text: String,
    pub store_id: Option<i64>,
    pub state: String,
    pub ticked_by: Option<i64>,
    pub ticked_at: Option<DateTime<Utc>>,
    pub note: Option<String>,
    pub incident_id: Option<i64>,
}

pub async fn items(db: &SqlitePool, patrol_id: i64) -> sqlx::Result<Vec<Item>> {
    sqlx::query_as(
        "SELECT id, patrol_id, position, kind, title, check_text, fix_text, store_id, state, ticked_by, ticked_at, note, incident_id
         FROM patrol_items WHERE patrol_id = ? ORDER BY position, id",
    )
    .bind(patrol_id)
    .fetch_all(db)
    .await
}

async fn item(db: &SqlitePool, item_id: i64) -> sqlx::Result<Option<Item>> {
    sqlx::query_as(
        "SELECT id, patrol_id, position, kind, title, check_text, fix_text, store_id, state, ticked_by, ticked_at, note, incident_id
         FROM patrol_items WHERE id = ?",
    )
    .bind(item_id)
    .fetch_optional(db)
    .await
}

/// (done steps, all steps): a step is done when every one of its items is.
pub fn progress(items: &[Item]) -> (usize, usize) {
    let mut positions: Vec<i64> = items.iter().map(|item| item.position).collect();
    positions.dedup();
    let done = positions
        .iter()
        .filter(|position| items.iter().filter(|item| item.position == **position).all(|item| item.state != "open"))
        .count();
    (done, positions.len())
}

fn weekday_label(i18n: &I18n, lang: Lang, date: NaiveDate) -> String {
    use chrono::Datelike;
    match date.weekday() {
        chrono::Weekday::Mon => tp!(i18n, lang, "weekday-mon"),
        chrono::Weekday::Tue => tp!(i18n, lang, "weekday-tue"),
        chrono::Weekday::Wed => tp!(i18n, lang, "weekday-wed"),
        chrono::Weekday::Thu => tp!(i18n, lang, "weekday-thu"),
        chrono::Weekday::Fri => tp!(i18n, lang, "weekday-fri"),
        chrono::Weekday::Sat => tp!(i18n, lang, "weekday-sat"),
        chrono::Weekday::Sun => tp!(i18n, lang, "weekday-sun"),
    }
}

/// The live checklist: header, progress, each step with who ticked what and when; open steps
/// show what to check and what to do.
pub async fn render(floor: &Floor, lang: Lang, patrol: &Patrol, items: &[Item]) -> anyhow::Result<String> {
    let i18n = &floor.i18n;
    let name = team::team_name(&floor.db, patrol.team_id).await?;
    let timezone = floor.config.timezone_for(&name);
    let time = |at: DateTime<Utc>| at.with_timezone(&timezone).format("%H:%M").to_string();
    let date = NaiveDate::parse_from_str(&patrol.local_date, "%Y-%m-%d").unwrap_or_default();
    let owner = match patrol.owner_id {
        Some(id) => team::person(&floor.db, id)
            .await?
            .map(|person| person.mention())
            .unwrap_or_else(|| format!("<code>{id}</code>")),
        None => tp!(i18n, lang, "patrol-nobody"),
    };
    let (done, total) = progress(items);
    let mut lines = vec![t!(
        i18n,
        lang,
        "patrol-header",
        team = name.as_str(),
        date = date.format("%m-%d").to_string(),
        weekday = weekday_label(i18n, lang, date)
    )];
    lines.push(t!(i18n, lang, "patrol-owner", owner = Arg::Html(owner), deadline = time(patrol.deadline_at)));
    if patrol.posted_late {
        lines.push(t!(i18n, lang, "patrol-posted-late", time = time(patrol.starts_at)));
    }
    lines.push(t!(i18n, lang, "patrol-progress", done = done, total = total));
    let mut position = 0;
    for item in items {
        let ticked = match (item.ticked_by, item.ticked_at) {
            (Some(by), Some(at)) => format!(" — {} {}", team::name_html(&floor.db, Some(by)).await?, time(at)),
            _ => String::new(),
        };
        let note = item.note.as_deref().map(|note| t!(i18n, lang, "patrol-item-note", note = note)).unwrap_or_default();
        let incident =
            item.incident_id.map(|id| t!(i18n, lang, "patrol-item-incident", number = id)).unwrap_or_default();
        let mark = match item.state.as_str() {
            "ok" => "✅",
            "issue" => "⚠️",
            "na" => "➖",
            "offline" => "❌",
            _ => "⬜",
        };
        if item.store_id.is_some() {
            if item.position != position {
                position = item.position;
                lines.push(format!("<b>{}. {}</b>", item.position, crate::telegram::html::escape(&item.title)));
            }
            let store = store::label_of(&floor.db, i18n, lang, item.store_id).await?;
            lines.push(format!("    {mark} {}{ticked}{note}{incident}", crate::telegram::html::escape(&store)));
            continue;
        }
        position = item.position;
        lines.push(format!(
            "{mark} <b>{}. {}</b>{ticked}{note}{incident}",
            item.position,
            crate::telegram::html::escape(&item.title)
        ));
        if item.state == "open" && (!item.check_text.is_empty() || !item.fix_text.is_empty()) {
            lines.push(t!(
                i18n,
                lang,
                "patrol-step-detail",
                check = item.check_text.as_str(),
                fix = item.fix_text.as_str()
            ));
        }
    }
    if let Some(completed_at) = patrol.completed_at {
        lines.push(t!(i18n, lang, "patrol-done-line", time = time(completed_at)));
    } else if patrol.escalated_at.is_some() {
        lines.push(t!(i18n, lang, "patrol-late-line"));
    }
    Ok(lines.join("\n"))
}

/// Buttons for the open items: ✅ / ⚠ / N/A per step, OK / Offline per store. Returns the main
/// keyboard and, when there would be too many buttons for one message, the stores' own.
pub fn keyboards(
    i18n: &I18n,
    lang: Lang,
    items: &[Item],
) -> (Option<InlineKeyboardMarkup>, Option<InlineKeyboardMarkup>) {
    let mut store_rows = Vec::new();
    let mut step_rows = Vec::new();
    for item in items.iter().filter(|item| item.state == "open") {
        if item.store_id.is_some() {
            store_rows.push((item.id, item.position));
        } else {
            step_rows.push(vec![
                InlineKeyboardButton::callback(
                    format!("{} ✅", item.position),
                    CallbackData::PatrolTick(item.id, PatrolTick::Ok).encode(),
                ),
                InlineKeyboardButton::callback(
                    format!("{} ⚠", item.position),
                    CallbackData::PatrolTick(item.id, PatrolTick::Issue).encode(),
                ),
                InlineKeyboardButton::callback(
                    format!("{} {}", item.position, tp!(i18n, lang, "patrol-button-na")),
                    CallbackData::PatrolTick(item.id, PatrolTick::NotApplicable).encode(),
                ),
            ]);
        }
    }
    let store_keyboard_rows: Vec<Vec<InlineKeyboardButton>> = store_rows
        .iter()
        .enumerate()
        .map(|(index, (item_id, _))| {
            vec![
                InlineKeyboardButton::callback(
                    format!("{}.{} ✅", 1, index + 1),
                    CallbackData::PatrolTick(*item_id, PatrolTick::Ok).encode(),
                ),
                InlineKeyboardButton::callback(
                    format!("{}.{} {}", 1, index + 1, tp!(i18n, lang, "patrol-button-offline")),
                    CallbackData::PatrolTick(*item_id, PatrolTick::Offline).encode(),
                ),
            ]
        })
        .collect();
    let total = store_keyboard_rows.len() * 2 + step_rows.len() * 3;
    let markup = |rows: Vec<Vec<InlineKeyboardButton>>| (!rows.is_empty()).then(|| InlineKeyboardMarkup::new(rows));
    if total <= BUTTON_LIMIT {
        let mut rows = store_keyboard_rows;
        rows.extend(step_rows);
        (markup(rows), None)
    } else {
        (markup(step_rows), markup(store_keyboard_rows))
    }
}

/// Draws the checklist: posts it the first time, edits it in place afterwards.
pub async fn refresh(floor: &Floor, patrol_id: i64) -> anyhow::Result<()> {
    let Some(patrol) = get(&floor.db, patrol_id).await? else { return Ok(()) };
    let items = items(&floor.db, patrol_id).await?;
    let lang = floor.chat_language(patrol.chat_id).await;
    let text = render(floor, lang, &patrol, &items).await?;
    let (main, stores) = keyboards(&floor.i18n, lang, &items);
    let stores_needed = stores.is_some() || patrol.stores_message_id.is_some();
    match patrol.message_id.and_then(|id| i32::try_from(id).ok()) {
        Some(message_id) => floor.lane.refresh(patrol.chat_id, message_id, &text, main, false).await?,
        None => {
            let sent = floor
                .lane
                .send(patrol.chat_id, &text, SendOptions { keyboard: main, live: true, ..SendOptions::default() })
                .await?;
            if let Some(last) = sent.last() {
                sqlx::query("UPDATE patrols SET message_id = ? WHERE id = ?")
                    .bind(last.message_id)
                    .bind(patrol_id)
                    .execute(&floor.db)
                    .await?;
            }
        }
    }
    if stores_needed {
        let text = t!(floor.i18n, lang, "patrol-stores-message", date = patrol.local_date.as_str());
        match patrol.stores_message_id.and_then(|id| i32::try_from(id).ok()) {
            Some(message_id) => floor.lane.refresh(patrol.chat_id, message_id, &text, stores, false).await?,
            None => {
                let sent = floor
                    .lane
                    .send(patrol.chat_id, &text, SendOptions { keyboard: stores, live: true, ..SendOptions::default() })
                    .await?;
                if let Some(last) = sent.last() {
                    sqlx::query("UPDATE patrols SET stores_message_id = ? WHERE id = ?")
                        .bind(last.message_id)
                        .bind(patrol_id)
                        .execute(&floor.db)
                        .await?;
                }
            }
        }
    }
    Ok(())
}

/// Open steps as a short list for reminders (HTML).
async fn open_steps(floor: &Floor, lang: Lang, patrol_id: i64) -> sqlx::Result<String> {
    let items = items(&floor.db, patrol_id).await?;
    let mut titles: Vec<String> = Vec::new();
    for item in items.iter().filter(|item| item.state == "open") {
        let title = format!("{}. {}", item.position, crate::telegram::html::escape(&item.title));
        if !titles.contains(&title) {
            titles.push(title);
        }
    }
    Ok(floor.i18n.list(lang, &titles))
}

/// 15 minutes before the deadline: the responsible person is mentioned with the open steps.
pub async fn remind(floor: &Floor, patrol_id: i64) -> anyhow::Result<()> {
    let Some(patrol) = get(&floor.db, patrol_id).await? else { return Ok(()) };
    if patrol.completed_at.is_some() {
        return Ok(());
    }
    let lang = floor.chat_language(patrol.chat_id).await;
    let owner = match patrol.owner_id {
        Some(id) => team::person(&floor.db, id).await?.map(|person| person.mention()).unwrap_or_default(),
        None => String::new(),
    };
    let text = t!(
        floor.i18n,
        lang,
        "patrol-reminder",
        owner = Arg::Html(owner),
        steps = Arg::Html(open_steps(floor, lang, patrol_id).await?),
        deadline = patrol
            .deadline_at
            .with_timezone(&floor.config.timezone_for(&team::team_name(&floor.db, patrol.team_id).await?))
            .format("%H:%M")
            .to_string()
    );
    let reply_to = patrol.message_id.and_then(|id| i32::try_from(id).ok());
    floor.lane.send(patrol.chat_id, &text, SendOptions { reply_to, ..SendOptions::default() }).await?;
    sqlx::query("UPDATE patrols SET reminded_at = ? WHERE id = ?")
        .bind(floor.clock.now())
        .bind(patrol_id)
        .execute(&floor.db)
        .await?;
    Ok(())
}

/// At the deadline an unfinished patrol is late: the supervisor on duty is told privately and
/// mentioned in the group.
pub async fn deadline(floor: &Floor, patrol_id: i64) -> anyhow::Result<()> {
    let Some(patrol) = get(&floor.db, patrol_id).await? else { return Ok(()) };
    if patrol.completed_at.is_some() {
        return Ok(());
    }
    let now = floor.clock.now();
    let changed = sqlx::query(
        "UPDATE patrols SET escalated_at = ? WHERE id = ? AND escalated_at IS NULL AND completed_at IS NULL",
    )
    .bind(now)
    .bind(patrol_id)
    .execute(&floor.db)
    .await?
    .rows_affected();
    if changed == 0 {
        return Ok(());
    }
    let name = team::team_name(&floor.db, patrol.team_id).await?;
    let lang = floor.chat_language(patrol.chat_id).await;
    let steps = open_steps(floor, lang, patrol_id).await?;
    let duty = team::on_duty(&floor.db, &floor.config).await?;
    let duty_person = match duty {
        Some(id) => team::person(&floor.db, id).await?,
        None => None,
    };
    let mention = duty_person.as_ref().map(|person| person.mention()).unwrap_or_default();
    let text = t!(
        floor.i18n,
        lang,
        "patrol-late-group",
        supervisor = Arg::Html(mention),
        team = name.as_str(),
        steps = Arg::Html(steps)
    );
    let reply_to = patrol.message_id.and_then(|id| i32::try_from(id).ok());
    floor.lane.send(patrol.chat_id, &text, SendOptions { reply_to, ..SendOptions::default() }).await?;
    if let Some(duty) = duty {
        let private_lang = floor.chat_language(duty).await;
        let steps = open_steps(floor, private_lang, patrol_id).await?;
        let text = t!(floor.i18n, private_lang, "patrol-late-private", team = name.as_str(), steps = Arg::Html(steps));
        if let Err(error) = floor.lane.send(duty, &text, SendOptions::default()).await {
            tracing::warn!(%error, "could not tell the duty supervisor about a late patrol");
        }
    }
    let mut transaction = crate::db::begin(&floor.db).await?;
    enqueue_refresh(&mut transaction, patrol_id, now).await?;
    transaction.commit().await?;
    Ok(())
}

/// After a tick: when every item is done, the patrol is complete — recorded once, its timers
/// stopped, and a one-line summary posted.
async fn check_completion(floor: &Floor, patrol_id: i64, by: i64) -> anyhow::Result<()> {
    let items = items(&floor.db, patrol_id).await?;
    if items.iter().any(|item| item.state == "open") {
        return Ok(());
    }
    let now = floor.clock.now();
    let mut transaction = crate::db::begin(&floor.db).await?;
    let changed =
        sqlx::query("UPDATE patrols SET completed_at = ?, completed_by = ? WHERE id = ? AND completed_at IS NULL")
            .bind(now)
            .bind(by)
            .bind(patrol_id)
            .execute(&mut *transaction)
            .await?
            .rows_affected();
    if changed == 0 {
        return Ok(());
    }
    sqlx::query(
        "UPDATE jobs SET state = 'cancelled' WHERE kind IN ('patrol_reminder', 'patrol_deadline') AND state = 'pending' AND payload = ?",
    )
    .bind(patrol_id.to_string())
    .execute(&mut *transaction)
    .await?;
    enqueue_refresh(&mut transaction, patrol_id, now).await?;
    transaction.commit().await?;
    let Some(patrol) = get(&floor.db, patrol_id).await? else { return Ok(()) };
    let lang = floor.chat_language(patrol.chat_id).await;
    let issues = items.iter().filter(|item| matches!(item.state.as_str(), "issue" | "offline")).count();
    let text = t!(
        floor.i18n,
        lang,
        "patrol-summary",
        duration = incident::duration_text(&floor.i18n, lang, patrol.posted_at, now),
        issues = issues
    );
    let reply_to = patrol.message_id.and_then(|id| i32::try_from(id).ok());
    floor.lane.send(patrol.chat_id, &text, SendOptions { reply_to, ..SendOptions::default() }).await?;
    floor.scheduler.wake();
    Ok(())
}

/// A press of a checklist button. Returns the popup text and whether it is an alert.
pub async fn tick(
    floor: &Floor,
    chat_id: i64,
    user_id: i64,
    roles: &team::RoleSet,
    lang: Lang,
    item_id: i64,
    tick: PatrolTick,
) -> anyhow::Result<(String, bool)> {
    let i18n = &floor.i18n;
    if !roles.any_of(&[Role::Agent, Role::Lead, Role::Supervisor]) {
        return Ok((tp!(i18n, lang, "patrol-team-only"), true));
    }
    let Some(item) = item(&floor.db, item_id).await? else { return Ok((String::new(), false)) };
    let Some(patrol) = get(&floor.db, item.patrol_id).await? else { return Ok((String::new(), false)) };
    if patrol.chat_id != chat_id {
        return Ok((String::new(), false));
    }
    if item.state != "open" {
        return Ok((tp!(i18n, lang, "patrol-already-ticked"), false));
    }
    let now = floor.clock.now();
    match tick {
        PatrolTick::Ok => {
            set_item(floor, item.id, "ok", user_id, None, None).await?;
        }
        PatrolTick::Offline => {
            let description = store::label_of(&floor.db, i18n, lang, item.store_id).await?;
            let incident_id =
                file_incident(floor, &patrol, &item, "account_offline", Severity::Yellow, &description, user_id, None)
                    .await?;
            set_item(floor, item.id, "offline", user_id, None, Some(incident_id)).await?;
        }
        PatrolTick::NotApplicable | PatrolTick::Issue => {
            let kind = if tick == PatrolTick::NotApplicable { "na" } else { "issue" };
            let person = team::person(&floor.db, user_id).await?;
            let mention = person.as_ref().map(|person| person.mention()).unwrap_or_default();
            let text = if kind == "na" {
                t!(
                    i18n,
                    lang,
                    "patrol-ask-na",
                    person = Arg::Html(mention),
                    step = item.position,
                    title = item.title.as_str()
                )
            } else {
                t!(
                    i18n,
                    lang,
                    "patrol-ask-issue",
                    person = Arg::Html(mention),
                    step = item.position,
                    title = item.title.as_str()
                )
            };
            sqlx::query(
                "INSERT INTO patrol_answers (chat_id, user_id, item_id, kind, note, prompt_message_id, expires_at)
                 VALUES (?, ?, ?, ?, NULL, NULL, ?)
                 ON CONFLICT (chat_id, user_id) DO UPDATE SET item_id = excluded.item_id, kind = excluded.kind, note = NULL,
                     prompt_message_id = NULL, expires_at = excluded.expires_at",
            )
            .bind(chat_id)
            .bind(user_id)
            .bind(item.id)
            .bind(kind)
            .bind(now + chrono::Duration::minutes(ANSWER_MINUTES))
            .execute(&floor.db)
            .await?;
            let reply_to = patrol.message_id.and_then(|id| i32::try_from(id).ok());
            let sent = floor
                .lane
                .send(chat_id, &text, SendOptions { reply_to, force_reply: true, ..SendOptions::default() })
                .await?;
            if let Some(prompt) = sent.last() {
                sqlx::query("UPDATE patrol_answers SET prompt_message_id = ? WHERE chat_id = ? AND user_id = ?")
                    .bind(prompt.message_id)
                    .bind(chat_id)
                    .bind(user_id)
                    .execute(&floor.db)
                    .await?;
            }
            return Ok((String::new(), false));
        }
    }
    check_completion(floor, patrol.id, user_id).await?;
    Ok((tp!(i18n, lang, "patrol-ticked"), false))
}

async fn set_item(
    floor: &Floor,
    item_id: i64,
    state: &str,
    by: i64,
    note: Option<&str>,
    incident_id: Option<i64>,
) -> anyhow::Result<bool> {
    let now = floor.clock.now();
    let mut transaction = crate::db::begin(&floor.db).await?;
    let changed = sqlx::query(
        "UPDATE patrol_items SET state = ?, ticked_by = ?, ticked_at = ?, note = ?, incident_id = ? WHERE id = ? AND state = 'open'",
    )
    .bind(state)
    .bind(by)
    .bind(now)
    .bind(note)
    .bind(incident_id)
    .bind(item_id)
    .execute(&mut *transaction)
    .await?
    .rows_affected();
    let patrol_id: Option<i64> = sqlx::query_scalar("SELECT patrol_id FROM patrol_items WHERE id = ?")
        .bind(item_id)
        .fetch_optional(&mut *transaction)
        .await?;
    if let Some(patrol_id) = patrol_id {
        enqueue_refresh(&mut transaction, patrol_id, now).await?;
    }
    transaction.commit().await?;
    floor.scheduler.wake();
    Ok(changed > 0)
}

/// Records a finding as an incident linked to the step, routed by severity: blue is recorded
/// only; yellow messages and mentions the supervisor on duty (no call); red is relayed to
/// operations and runs the escalation chain.
#[allow(clippy::too_many_arguments)]
async fn file_incident(
    floor: &Floor,
    patrol: &Patrol,
    item: &Item,
    kind: &str,
    severity: Severity,
    description: &str,
    reporter: i64,
    report_message_id: Option<i32>,
) -> anyhow::Result<i64> {
    let now = floor.clock.now();
    let name = team::team_name(&floor.db, patrol.team_id).await?;
    let mut transaction = crate::db::begin(&floor.db).await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO incidents (kind, severity, team_id, store_id, description, reporter_id, reported_at,
             report_chat_id, report_message_id)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(kind)
    .bind(severity.as_str())
    .bind(patrol.team_id)
    .bind(item.store_id)
    .bind(description)
    .bind(reporter)
    .bind(now)
    .bind(patrol.chat_id)
    // Alerts about it reply to the checklist, where the finding is shown.
    .bind(report_message_id.map(i64::from).or(patrol.message_id))
    .fetch_one(&mut *transaction)
    .await?;
    incident::record(&mut transaction, id, now, EventKind::Reported, Some(reporter), None, None).await?;
    match severity {
        Severity::Blue => {}
        Severity::Yellow => {
            if let Some(duty) = team::on_duty(&floor.db, &floor.config).await? {
                scheduler::enqueue(&mut transaction, JobKind::Private, Some(id), Some(duty), None, now).await?;
                scheduler::enqueue(&mut transaction, JobKind::Mention, Some(id), None, Some(&duty.to_string()), now)
                    .await?;
            }
        }
        Severity::Red => {
            scheduler::enqueue(&mut transaction, JobKind::Relay, Some(id), None, None, now).await?;
            scheduler::schedule_chain(&mut transaction, id, floor.config.chain_for(&name), now).await?;
        }
    }
    transaction.commit().await?;
    floor.scheduler.wake();
    Ok(id)
}

/// A press of a severity button after an issue's note.
pub async fn severity_chosen(
    floor: &Floor,
    chat_id: i64,
    message_id: i32,
    user_id: i64,
    lang: Lang,
    item_id: i64,
    severity: Severity,
) -> anyhow::Result<(String, bool)> {
    let i18n = &floor.i18n;
    let answer: Option<(i64, String, Option<String>, Option<i64>)> = sqlx::query_as(
        "SELECT item_id, kind, note, prompt_message_id FROM patrol_answers WHERE chat_id = ? AND user_id = ?",
    )
    .bind(chat_id)
    .bind(user_id)
    .fetch_optional(&floor.db)
    .await?;
    let Some((answer_item, kind, Some(note), Some(prompt))) = answer else {
        return Ok((tp!(i18n, lang, "form-not-yours"), true));
    };
    if answer_item != item_id || kind != "issue" || prompt != i64::from(message_id) {
        return Ok((tp!(i18n, lang, "form-not-yours"), true));
    }
    let Some(item) = item(&floor.db, item_id).await? else { return Ok((String::new(), false)) };
    let Some(patrol) = get(&floor.db, item.patrol_id).await? else { return Ok((String::new(), false)) };
    sqlx::query("DELETE FROM patrol_answers WHERE chat_id = ? AND user_id = ?")
        .bind(chat_id)
        .bind(user_id)
        .execute(&floor.db)
        .await?;
    if item.state != "open" {
        return Ok((tp!(i18n, lang, "patrol-already-ticked"), false));
    }
    let description = format!("{}. {}：{note}", item.position, item.title);
    let incident_id =
        file_incident(floor, &patrol, &item, "patrol_issue", severity, &description, user_id, None).await?;
    set_item(floor, item.id, "issue", user_id, Some(&note), Some(incident_id)).await?;
    let chosen =
        t!(i18n, lang, "patrol-issue-recorded", number = incident_id, severity = severity_label(i18n, lang, severity));
    floor.lane.edit(chat_id, message_id, &chosen, None).await.ok();
    check_completion(floor, patrol.id, user_id).await?;
    Ok((String::new(), false))
}

fn severity_label(i18n: &I18n, lang: Lang, severity: Severity) -> String {
    match severity {
        Severity::Blue => tp!(i18n, lang, "severity-blue"),
        Severity::Yellow => tp!(i18n, lang, "severity-yellow"),
        Severity::Red => tp!(i18n, lang, "severity-red"),
    }
}

/// A reply to one of the patrol's prompts: an N/A reason, or an issue's note (then the
/// severity is asked with buttons). Returns whether the message was consumed.
pub async fn answer_reply(
    floor: &Floor,
    chat_id: i64,
    user_id: i64,
    lang: Lang,
    replied_to: i32,
    text: &str,
) -> anyhow::Result<bool> {
    let i18n = &floor.i18n;
    let answer: Option<(i64, String, Option<i64>, DateTime<Utc>)> = sqlx::query_as(
        "SELECT item_id, kind, prompt_message_id, expires_at FROM patrol_answers WHERE chat_id = ? AND user_id = ?",
    )
    .bind(chat_id)
    .bind(user_id)
    .fetch_optional(&floor.db)
    .await?;
    // Only the person who pressed the button, replying to their own prompt, answers it.
    let Some((item_id, kind, Some(prompt), expires_at)) = answer else { return Ok(false) };
    if prompt != i64::from(replied_to) || expires_at <= floor.clock.now() {
        return Ok(false);
    }
    let note = text.trim();
    if note.is_empty() {
        return Ok(false);
    }
    let note: String = note.chars().take(500).collect();
    if kind == "na" {
        sqlx::query("DELETE FROM patrol_answers WHERE chat_id = ? AND user_id = ?")
            .bind(chat_id)
            .bind(user_id)
            .execute(&floor.db)
            .await?;
        set_item(floor, item_id, "na", user_id, Some(&note), None).await?;
        if let Some(item) = item(&floor.db, item_id).await? {
            check_completion(floor, item.patrol_id, user_id).await?;
        }
        return Ok(true);
    }
    let buttons = [Severity::Blue, Severity::Yellow, Severity::Red]
        .into_iter()
        .map(|severity| {
            InlineKeyboardButton::callback(
                format!("{} {}", severity.icon(), severity_label(i18n, lang, severity)),
                CallbackData::PatrolSeverity(item_id, severity).encode(),
            )
        })
        .collect::<Vec<_>>();
    let text = t!(i18n, lang, "patrol-ask-severity");
    let sent = floor
        .lane
        .send(
            chat_id,
            &text,
            SendOptions {
                reply_to: Some(replied_to),
                keyboard: Some(InlineKeyboardMarkup::new(vec![buttons])),
                ..SendOptions::default()
            },
        )
        .await?;
    if let Some(prompt) = sent.last() {
        sqlx::query("UPDATE patrol_answers SET note = ?, prompt_message_id = ? WHERE chat_id = ? AND user_id = ?")
            .bind(&note)
            .bind(prompt.message_id)
            .bind(chat_id)
            .bind(user_id)
            .execute(&floor.db)
            .await?;
    }
    Ok(true)
}

/// Today's local date for a team.
pub async fn today(floor: &Floor, team_id: i64, team_name: &str) -> sqlx::Result<NaiveDate> {
    let schedule = effective_schedule(floor, team_id, team_name).await?;
    Ok(schedule.local_date(floor.clock.now()))
}
