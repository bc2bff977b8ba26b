//! The morning patrol's storage: each team's settings and custom steps, each day's checklist
//! (a snapshot) with its items and ticks, the jobs that start, remind and chase it, the
//! half-given answers (N/A reasons, issue notes), and findings filed as incidents.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::SqlitePool;

use super::jobs::{self, JobKind};
use crate::domain::escalation::Chain;
use crate::domain::incident::{EventKind, IncidentKind, Severity};
use crate::domain::patrol::{AnswerKind, Item, ItemState, Patrol, Routing, StepKind, StepText};

/// A team's own settings; a value here wins over the configuration file.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    pub at: Option<String>,
    pub days: Option<String>,
    pub deadline: Option<String>,
    pub owner_id: Option<i64>,
}

pub async fn settings(db: &SqlitePool, team_id: i64) -> sqlx::Result<Settings> {
    Ok(sqlx::query_as!(Settings, "SELECT at, days, deadline, owner_id FROM patrol_settings WHERE team_id = ?", team_id)
        .fetch_optional(db)
        .await?
        .unwrap_or_default())
}

/// Stores the schedule set with `/patrol schedule` (canonical forms).
pub async fn set_schedule(
    db: &SqlitePool,
    team_id: i64,
    at: &str,
    days: &str,
    deadline: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO patrol_settings (team_id, at, days, deadline, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (team_id) DO UPDATE SET at = excluded.at, days = excluded.days, deadline = excluded.deadline,
             updated_at = excluded.updated_at",
        team_id,
        at,
        days,
        deadline,
        now,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Sets who is responsible; None means the leads in rotation.
pub async fn set_owner(db: &SqlitePool, team_id: i64, owner: Option<i64>, now: DateTime<Utc>) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO patrol_settings (team_id, owner_id, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (team_id) DO UPDATE SET owner_id = excluded.owner_id, updated_at = excluded.updated_at",
        team_id,
        owner,
        now,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// The team's own steps, in order (empty: it uses the default ten).
pub async fn custom_steps(db: &SqlitePool, team_id: i64) -> sqlx::Result<Vec<StepText>> {
    sqlx::query_as!(
        StepText,
        r#"SELECT kind AS "kind: StepKind", title, check_text AS "check", fix_text AS "fix" FROM patrol_steps
         WHERE team_id = ? ORDER BY position, id"#,
        team_id,
    )
    .fetch_all(db)
    .await
}

/// Replaces the team's steps.
pub async fn replace_steps(db: &SqlitePool, team_id: i64, steps: &[StepText]) -> sqlx::Result<()> {
    let mut transaction = super::begin(db).await?;
    sqlx::query!("DELETE FROM patrol_steps WHERE team_id = ?", team_id).execute(&mut *transaction).await?;
    for (index, step) in steps.iter().enumerate() {
        sqlx::query!(
            "INSERT INTO patrol_steps (team_id, position, kind, title, check_text, fix_text) VALUES (?, ?, ?, ?, ?, ?)",
            team_id,
            i64::try_from(index + 1).unwrap_or(i64::MAX),
            step.kind,
            step.title,
            step.check,
            step.fix,
        )
        .execute(&mut *transaction)
        .await?;
    }
    transaction.commit().await
}

/// The leads seen in the team's group, in the order they were made leads.
pub async fn team_leads(db: &SqlitePool, team_id: i64) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar!(
        "SELECT roles.user_id FROM roles
         JOIN chat_members ON chat_members.user_id = roles.user_id
         JOIN chats ON chats.chat_id = chat_members.chat_id
         WHERE roles.role = 'lead' AND chats.team_id = ? AND chats.binding = 'team' AND chats.active = 1
         ORDER BY roles.id",
        team_id,
    )
    .fetch_all(db)
    .await
}

/// The team's live group, if bound.
pub async fn team_chat(db: &SqlitePool, team_id: i64) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar!("SELECT chat_id FROM chats WHERE team_id = ? AND binding = 'team' AND active = 1", team_id)
        .fetch_optional(db)
        .await
}

/// Plans a team's next patrol start, replacing any pending one (None: no start planned).
pub async fn plan_start(db: &SqlitePool, team_id: i64, next: Option<(NaiveDate, DateTime<Utc>)>) -> sqlx::Result<()> {
    let mut transaction = super::begin(db).await?;
    sqlx::query!(
        "UPDATE jobs SET state = 'cancelled' WHERE kind = 'patrol_start' AND state = 'pending' AND person_id = ?",
        team_id,
    )
    .execute(&mut *transaction)
    .await?;
    if let Some((date, starts_at)) = next {
        let payload = date.format("%Y-%m-%d").to_string();
        jobs::enqueue(&mut transaction, JobKind::PatrolStart, None, Some(team_id), Some(&payload), starts_at).await?;
    }
    transaction.commit().await
}

/// Bound teams without a planned patrol (a pending start left by the last run stays).
pub async fn teams_without_a_plan(db: &SqlitePool) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar!(
        r#"SELECT chats.team_id AS "team_id!" FROM chats WHERE chats.binding = 'team' AND chats.active = 1
         AND NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.kind = 'patrol_start' AND jobs.state IN ('pending', 'running')
                         AND jobs.person_id = chats.team_id)"#,
    )
    .fetch_all(db)
    .await
}

/// A day's checklist to record.
pub struct NewPatrol<'a> {
    pub team_id: i64,
    pub date: NaiveDate,
    pub chat_id: i64,
    pub owner: Option<i64>,
    pub starts_at: DateTime<Utc>,
    pub deadline_at: DateTime<Utc>,
    pub reminder_at: DateTime<Utc>,
    pub late: bool,
    pub steps: &'a [StepText],
    /// The stores the account-login step unfolds into.
    pub stores: &'a [i64],
}

/// Records the day's patrol and its checklist snapshot, with its reminder, its deadline and
/// its first drawing as jobs, in one transaction. None if that day's patrol exists already.
pub async fn create(db: &SqlitePool, new: &NewPatrol<'_>, now: DateTime<Utc>) -> sqlx::Result<Option<i64>> {
    let mut transaction = super::begin(db).await?;
    let id: Option<i64> = sqlx::query_scalar!(
        r#"INSERT INTO patrols (team_id, local_date, chat_id, owner_id, starts_at, deadline_at, posted_at, posted_late)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (team_id, local_date) DO NOTHING RETURNING id AS "id!""#,
        new.team_id,
        new.date,
        new.chat_id,
        new.owner,
        new.starts_at,
        new.deadline_at,
        now,
        new.late,
    )
    .fetch_optional(&mut *transaction)
    .await?;
    let Some(patrol_id) = id else { return Ok(None) };
    for (index, step) in new.steps.iter().enumerate() {
        let position = i64::try_from(index + 1).unwrap_or(i64::MAX);
        let stores: Vec<Option<i64>> = if step.kind == StepKind::Logins && !new.stores.is_empty() {
            new.stores.iter().copied().map(Some).collect()
        } else {
            vec![None]
        };
        for store_id in stores {
            sqlx::query!(
                "INSERT INTO patrol_items (patrol_id, position, kind, title, check_text, fix_text, store_id)
                 VALUES (?, ?, ?, ?, ?, ?, ?)",
                patrol_id,
                position,
                step.kind,
                step.title,
                step.check,
                step.fix,
                store_id,
            )
            .execute(&mut *transaction)
            .await?;
        }
    }
    let payload = patrol_id.to_string();
    jobs::enqueue(&mut transaction, JobKind::PatrolReminder, None, None, Some(&payload), new.reminder_at).await?;
    jobs::enqueue(&mut transaction, JobKind::PatrolDeadline, None, None, Some(&payload), new.deadline_at).await?;
    jobs::enqueue_patrol_refresh(&mut transaction, patrol_id, now).await?;
    transaction.commit().await?;
    Ok(Some(patrol_id))
}

/// Reads [`Patrol`]s: their typed columns, then the rest of the query, joined into one literal so
/// that the whole query is checked when it is compiled.
macro_rules! select_patrols {
    ($rest:literal $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            Patrol,
            r#"SELECT id, team_id, local_date AS "local_date: NaiveDate", chat_id, owner_id,
                   starts_at AS "starts_at: DateTime<Utc>", deadline_at AS "deadline_at: DateTime<Utc>",
                   posted_at AS "posted_at: DateTime<Utc>", posted_late AS "posted_late: bool", message_id,
                   stores_message_id, completed_at AS "completed_at: DateTime<Utc>", completed_by,
                   escalated_at AS "escalated_at: DateTime<Utc>"
               FROM patrols "# + $rest
            $(, $arg)*
        )
    };
}

/// Reads checklist [`Item`]s: their typed columns, then the rest of the query.
macro_rules! select_items {
    ($rest:literal $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            Item,
            r#"SELECT id, patrol_id, position, kind AS "kind: StepKind", title, check_text, fix_text, store_id,
                   state AS "state: ItemState", ticked_by, ticked_at AS "ticked_at: DateTime<Utc>", note, incident_id
               FROM patrol_items "# + $rest
            $(, $arg)*
        )
    };
}

pub async fn get(db: &SqlitePool, id: i64) -> sqlx::Result<Option<Patrol>> {
    select_patrols!("WHERE id = ?", id).fetch_optional(db).await
}

pub async fn for_day(db: &SqlitePool, team_id: i64, date: NaiveDate) -> sqlx::Result<Option<Patrol>> {
    select_patrols!("WHERE team_id = ? AND local_date = ?", team_id, date).fetch_optional(db).await
}

pub async fn items(db: &SqlitePool, patrol_id: i64) -> sqlx::Result<Vec<Item>> {
    select_items!("WHERE patrol_id = ? ORDER BY position, id", patrol_id).fetch_all(db).await
}

pub async fn item(db: &SqlitePool, item_id: i64) -> sqlx::Result<Option<Item>> {
    select_items!("WHERE id = ?", item_id).fetch_optional(db).await
}

/// Records where the checklist (or its stores) was posted.
pub async fn set_message(db: &SqlitePool, patrol_id: i64, message_id: i32, stores: bool) -> sqlx::Result<()> {
    if stores {
        sqlx::query!("UPDATE patrols SET stores_message_id = ? WHERE id = ?", message_id, patrol_id)
            .execute(db)
            .await?;
    } else {
        sqlx::query!("UPDATE patrols SET message_id = ? WHERE id = ?", message_id, patrol_id).execute(db).await?;
    }
    Ok(())
}

pub async fn set_reminded(db: &SqlitePool, patrol_id: i64, now: DateTime<Utc>) -> sqlx::Result<()> {
    sqlx::query!("UPDATE patrols SET reminded_at = ? WHERE id = ?", now, patrol_id).execute(db).await?;
    Ok(())
}

/// Marks an unfinished patrol late, once; returns whether this call did, with its redraw.
pub async fn escalate(db: &SqlitePool, patrol_id: i64, now: DateTime<Utc>) -> sqlx::Result<bool> {
    let mut transaction = super::begin(db).await?;
    let changed = sqlx::query!(
        "UPDATE patrols SET escalated_at = ? WHERE id = ? AND escalated_at IS NULL AND completed_at IS NULL",
        now,
        patrol_id,
    )
    .execute(&mut *transaction)
    .await?
    .rows_affected();
    if changed > 0 {
        jobs::enqueue_patrol_refresh(&mut transaction, patrol_id, now).await?;
    }
    transaction.commit().await?;
    Ok(changed > 0)
}

/// Records the patrol complete, once, and stops its reminder and deadline; returns whether
/// this call did.
pub async fn complete(db: &SqlitePool, patrol_id: i64, by: i64, now: DateTime<Utc>) -> sqlx::Result<bool> {
    let mut transaction = super::begin(db).await?;
    let changed = sqlx::query!(
        "UPDATE patrols SET completed_at = ?, completed_by = ? WHERE id = ? AND completed_at IS NULL",
        now,
        by,
        patrol_id,
    )
    .execute(&mut *transaction)
    .await?
    .rows_affected();
    if changed == 0 {
        return Ok(false);
    }
    sqlx::query!(
        "UPDATE jobs SET state = 'cancelled' WHERE kind IN ('patrol_reminder', 'patrol_deadline') AND state = 'pending' AND payload = ?",
        patrol_id.to_string(),
    )
    .execute(&mut *transaction)
    .await?;
    jobs::enqueue_patrol_refresh(&mut transaction, patrol_id, now).await?;
    transaction.commit().await?;
    Ok(true)
}

/// Ticks an open item (and has the checklist redrawn); false if it was ticked already.
pub async fn tick(
    db: &SqlitePool,
    item_id: i64,
    state: ItemState,
    by: i64,
    note: Option<&str>,
    incident_id: Option<i64>,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let mut transaction = super::begin(db).await?;
    let patrol_id: Option<i64> = sqlx::query_scalar!(
        "UPDATE patrol_items SET state = ?, ticked_by = ?, ticked_at = ?, note = ?, incident_id = ?
         WHERE id = ? AND state = 'open' RETURNING patrol_id",
        state,
        by,
        now,
        note,
        incident_id,
        item_id,
    )
    .fetch_optional(&mut *transaction)
    .await?;
    if let Some(patrol_id) = patrol_id {
        jobs::enqueue_patrol_refresh(&mut transaction, patrol_id, now).await?;
    }
    transaction.commit().await?;
    Ok(patrol_id.is_some())
}

/// A finding to file as an incident linked to its checklist item.
pub struct Finding<'a> {
    pub patrol: &'a Patrol,
    pub store_id: Option<i64>,
    pub kind: IncidentKind,
    pub severity: Severity,
    pub routing: Routing,
    pub description: &'a str,
    pub reporter: i64,
    /// The supervisor on duty, for yellow findings.
    pub on_duty: Option<i64>,
    pub chain: &'a Chain,
}

/// Files a finding as an incident, with the jobs its routing asks for, in one transaction.
pub async fn file_finding(db: &SqlitePool, finding: &Finding<'_>, now: DateTime<Utc>) -> sqlx::Result<i64> {
    let mut transaction = super::begin(db).await?;
    let id: i64 = sqlx::query_scalar!(
        r#"INSERT INTO incidents (kind, severity, team_id, store_id, description, reporter_id, reported_at,
             report_chat_id, report_message_id)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id AS "id!""#,
        finding.kind,
        finding.severity,
        finding.patrol.team_id,
        finding.store_id,
        finding.description,
        finding.reporter,
        now,
        finding.patrol.chat_id,
        // Alerts about it reply to the checklist, where the finding is shown.
        finding.patrol.message_id,
    )
    .fetch_one(&mut *transaction)
    .await?;
    super::incidents::record(&mut transaction, id, now, EventKind::Reported, Some(finding.reporter), None, None)
        .await?;
    match finding.routing {
        Routing::Record => {}
        Routing::DutySupervisor => {
            if let Some(duty) = finding.on_duty {
                jobs::enqueue(&mut transaction, JobKind::Private, Some(id), Some(duty), None, now).await?;
                jobs::enqueue(&mut transaction, JobKind::Mention, Some(id), None, Some(&duty.to_string()), now).await?;
            }
        }
        Routing::Escalate => {
            jobs::enqueue(&mut transaction, JobKind::Relay, Some(id), None, None, now).await?;
            jobs::schedule_chain(&mut transaction, id, finding.chain, now).await?;
        }
    }
    transaction.commit().await?;
    Ok(id)
}

/// A half-given answer: which item, for what, the note so far, its prompt and expiry.
#[derive(Clone, Debug)]
pub struct Answer {
    pub item_id: i64,
    pub kind: AnswerKind,
    pub note: Option<String>,
    pub prompt_message_id: Option<i64>,
    pub expires_at: DateTime<Utc>,
}

/// Starts an answer for one person in one chat, replacing any they had.
pub async fn start_answer(
    db: &SqlitePool,
    chat_id: i64,
    user_id: i64,
    item_id: i64,
    kind: AnswerKind,
    expires_at: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO patrol_answers (chat_id, user_id, item_id, kind, note, prompt_message_id, expires_at)
         VALUES (?, ?, ?, ?, NULL, NULL, ?)
         ON CONFLICT (chat_id, user_id) DO UPDATE SET item_id = excluded.item_id, kind = excluded.kind, note = NULL,
             prompt_message_id = NULL, expires_at = excluded.expires_at",
        chat_id,
        user_id,
        item_id,
        kind,
        expires_at,
    )
    .execute(db)
    .await?;
    Ok(())
}

pub async fn answer(db: &SqlitePool, chat_id: i64, user_id: i64) -> sqlx::Result<Option<Answer>> {
    sqlx::query_as!(
        Answer,
        r#"SELECT item_id, kind AS "kind: AnswerKind", note, prompt_message_id, expires_at AS "expires_at: DateTime<Utc>"
         FROM patrol_answers WHERE chat_id = ? AND user_id = ?"#,
        chat_id,
        user_id,
    )
    .fetch_optional(db)
    .await
}

/// Ties the answer to its prompt (and keeps the note given so far).
pub async fn set_answer_prompt(
    db: &SqlitePool,
    chat_id: i64,
    user_id: i64,
    prompt_message_id: i32,
    note: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE patrol_answers SET prompt_message_id = ?, note = COALESCE(?, note) WHERE chat_id = ? AND user_id = ?",
        prompt_message_id,
        note,
        chat_id,
        user_id,
    )
    .execute(db)
    .await?;
    Ok(())
}

pub async fn forget_answer(db: &SqlitePool, chat_id: i64, user_id: i64) -> sqlx::Result<()> {
    sqlx::query!("DELETE FROM patrol_answers WHERE chat_id = ? AND user_id = ?", chat_id, user_id).execute(db).await?;
    Ok(())
}
