//! Incidents: a recorded problem (异常记录) with its timeline, acknowledgement and resolution,
//! and the two live messages that show its state — the bot's message in the team group and
//! the relay in the cross-department group. `/ack`, `/resolve`, `/incident`, `/anomalies`
//! and the Acknowledge / Resolved buttons live here.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sqlx::{FromRow, Sqlite, SqlitePool, Transaction};
use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};

use crate::anomaly::AnomalyKind;
use crate::escalation::{Action, Chain, Target};
use crate::i18n::{Arg, I18n, Lang};
use crate::scheduler::{self, JobKind};
use crate::store;
use crate::team::{self, Role};
use crate::telegram::callback::CallbackData;
use crate::telegram::{Floor, Request};
use crate::{t, tp};

/// How far an incident reaches: blue the agent handles, yellow the supervisor steps in, red
/// needs other departments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Blue,
    Yellow,
    Red,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Blue => "blue",
            Severity::Yellow => "yellow",
            Severity::Red => "red",
        }
    }

    pub fn icon(self) -> &'static str {
        match self {
            Severity::Blue => "🔵",
            Severity::Yellow => "🟡",
            Severity::Red => "🔴",
        }
    }

    fn parse(text: &str) -> Severity {
        match text {
            "blue" => Severity::Blue,
            "red" => Severity::Red,
            _ => Severity::Yellow,
        }
    }
}

/// The description shown in a relay is cut here; the full text is one command away.
pub const RELAY_TEXT_LIMIT: usize = 1000;

#[derive(Clone, Debug, FromRow)]
pub struct Incident {
    pub id: i64,
    pub kind: String,
    pub severity: String,
    pub team_id: i64,
    pub store_id: Option<i64>,
    pub anomaly_kind: Option<String>,
    pub description: String,
    pub reporter_id: i64,
    pub reported_at: DateTime<Utc>,
    pub report_chat_id: Option<i64>,
    pub report_message_id: Option<i64>,
    pub team_chat_id: Option<i64>,
    pub team_message_id: Option<i64>,
    pub ops_chat_id: Option<i64>,
    pub ops_message_id: Option<i64>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub acknowledged_by: Option<i64>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolved_by: Option<i64>,
    pub resolution: Option<String>,
}

impl Incident {
    pub fn severity(&self) -> Severity {
        Severity::parse(&self.severity)
    }

    pub fn anomaly_kind(&self) -> AnomalyKind {
        self.anomaly_kind.as_deref().and_then(AnomalyKind::parse).unwrap_or(AnomalyKind::Other)
    }

    pub fn is_open(&self) -> bool {
        self.resolved_at.is_none()
    }

    /// A store anomaly, rather than something found on patrol.
    pub fn is_store_anomaly(&self) -> bool {
        self.kind == "store_anomaly"
    }

    /// What kind of problem it is, for messages.
    pub fn kind_label(&self, i18n: &I18n, lang: Lang) -> String {
        match self.kind.as_str() {
            "patrol_issue" => tp!(i18n, lang, "kind-patrol-issue"),
            "account_offline" => tp!(i18n, lang, "kind-account-offline"),
            _ => self.anomaly_kind().label(i18n, lang),
        }
    }
}

/// The columns of [`Incident`], as a literal so queries stay static strings.
macro_rules! incident_columns {
    () => {
        "id, kind, severity, team_id, store_id, anomaly_kind, description, reporter_id, reported_at,
         report_chat_id, report_message_id, team_chat_id, team_message_id, ops_chat_id, ops_message_id,
         acknowledged_at, acknowledged_by, resolved_at, resolved_by, resolution"
    };
}

pub async fn get(db: &SqlitePool, id: i64) -> sqlx::Result<Option<Incident>> {
    sqlx::query_as(concat!("SELECT ", incident_columns!(), " FROM incidents WHERE id = ?"))
        .bind(id)
        .fetch_optional(db)
        .await
}

/// Open incidents, oldest first.
pub async fn open(db: &SqlitePool) -> sqlx::Result<Vec<Incident>> {
    sqlx::query_as(concat!("SELECT ", incident_columns!(), " FROM incidents WHERE resolved_at IS NULL ORDER BY id"))
        .fetch_all(db)
        .await
}

/// One entry of an incident's timeline.
#[derive(Clone, Debug, FromRow)]
pub struct Event {
    pub at: DateTime<Utc>,
    pub kind: String,
    pub actor_id: Option<i64>,
    pub subject_id: Option<i64>,
    pub detail: Option<String>,
}

/// What can happen to an incident; stored by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    Reported,
    Joined,
    Relayed,
    RelayFailed,
    Step,
    StepLate,
    StepNobody,
    PrivateSent,
    PrivateFailed,
    Mentioned,
    CallPlaced,
    CallAnswered,
    CallFailed,
    CallRetry,
    CallNoNumber,
    CallNoProvider,
    CallError,
    /// A call no longer needed (its incidents were acknowledged) was hung up.
    CallCancelled,
    Acknowledged,
    Resolved,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Reported => "reported",
            EventKind::Joined => "joined",
            EventKind::Relayed => "relayed",
            EventKind::RelayFailed => "relay_failed",
            EventKind::Step => "step",
            EventKind::StepLate => "step_late",
            EventKind::StepNobody => "step_nobody",
            EventKind::PrivateSent => "private_sent",
            EventKind::PrivateFailed => "private_failed",
            EventKind::Mentioned => "mentioned",
            EventKind::CallPlaced => "call_placed",
            EventKind::CallAnswered => "call_answered",
            EventKind::CallFailed => "call_failed",
            EventKind::CallRetry => "call_retry",
            EventKind::CallNoNumber => "call_no_number",
            EventKind::CallNoProvider => "call_no_provider",
            EventKind::CallError => "call_error",
            EventKind::CallCancelled => "call_cancelled",
            EventKind::Acknowledged => "acknowledged",
            EventKind::Resolved => "resolved",
        }
    }
}

/// Appends to the timeline inside a transaction.
pub async fn record(
    transaction: &mut Transaction<'_, Sqlite>,
    incident_id: i64,
    at: DateTime<Utc>,
    kind: EventKind,
    actor_id: Option<i64>,
    subject_id: Option<i64>,
    detail: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO incident_events (incident_id, at, kind, actor_id, subject_id, detail) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(incident_id)
    .bind(at)
    .bind(kind.as_str())
    .bind(actor_id)
    .bind(subject_id)
    .bind(detail)
    .execute(&mut **transaction)
    .await?;
    Ok(())
}

/// Appends to the timeline on its own.
pub async fn record_now(
    db: &SqlitePool,
    incident_id: i64,
    at: DateTime<Utc>,
    kind: EventKind,
    subject_id: Option<i64>,
    detail: Option<&str>,
) -> sqlx::Result<()> {
    let mut transaction = crate::db::begin(db).await?;
    record(&mut transaction, incident_id, at, kind, None, subject_id, detail).await?;
    scheduler::enqueue_refresh(&mut transaction, incident_id, at, false).await?;
    transaction.commit().await
}

/// Records where an incident's relay went (one relay, or a digest carrying several), once:
/// the first record wins, and each incident's timeline says it was relayed.
pub async fn set_relay_message(
    db: &SqlitePool,
    ids: &[i64],
    chat_id: i64,
    message_id: i32,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let mut transaction = crate::db::begin(db).await?;
    let changed: Vec<i64> = sqlx::query_scalar(
        "UPDATE incidents SET ops_chat_id = ?, ops_message_id = ?
         WHERE id IN (SELECT value FROM json_each(?)) AND ops_message_id IS NULL RETURNING id",
    )
    .bind(chat_id)
    .bind(message_id)
    .bind(serde_json::to_string(ids)?)
    .fetch_all(&mut *transaction)
    .await?;
    for id in changed {
        record(&mut transaction, id, now, EventKind::Relayed, None, None, None).await?;
        scheduler::enqueue_refresh(&mut transaction, id, now, false).await?;
    }
    transaction.commit().await?;
    Ok(())
}

/// Records where an incident's confirmation went in its team group, once.
pub async fn set_team_message(db: &SqlitePool, ids: &[i64], chat_id: i64, message_id: i32) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE incidents SET team_chat_id = ?, team_message_id = ?
         WHERE id IN (SELECT value FROM json_each(?)) AND team_message_id IS NULL",
    )
    .bind(chat_id)
    .bind(message_id)
    .bind(serde_json::to_string(ids)?)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn events(db: &SqlitePool, incident_id: i64) -> sqlx::Result<Vec<Event>> {
    sqlx::query_as(
        "SELECT at, kind, actor_id, subject_id, detail FROM incident_events WHERE incident_id = ? ORDER BY id",
    )
    .bind(incident_id)
    .fetch_all(db)
    .await
}

/// The outcome of an acknowledgement or a resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// Someone was first.
    AlreadyDone,
    NotFound,
}

/// Why an acknowledgement or resolution changed nothing: someone was first, or no such incident.
async fn unchanged(transaction: &mut Transaction<'_, Sqlite>, incident_id: i64) -> sqlx::Result<Outcome> {
    let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM incidents WHERE id = ?")
        .bind(incident_id)
        .fetch_optional(&mut **transaction)
        .await?;
    Ok(if exists.is_some() { Outcome::AlreadyDone } else { Outcome::NotFound })
}

/// Records an acknowledgement. One transaction sets it and cancels every pending escalation
/// job, so a step is either already running or never runs: the first acknowledgement wins.
pub async fn acknowledge(db: &SqlitePool, incident_id: i64, by: i64, now: DateTime<Utc>) -> sqlx::Result<Outcome> {
    let mut transaction = crate::db::begin(db).await?;
    let changed = sqlx::query(
        "UPDATE incidents SET acknowledged_at = ?, acknowledged_by = ?
         WHERE id = ? AND acknowledged_at IS NULL AND resolved_at IS NULL",
    )
    .bind(now)
    .bind(by)
    .bind(incident_id)
    .execute(&mut *transaction)
    .await?;
    if changed.rows_affected() == 0 {
        return unchanged(&mut transaction, incident_id).await;
    }
    scheduler::cancel_escalation(&mut transaction, incident_id, now).await?;
    record(&mut transaction, incident_id, now, EventKind::Acknowledged, Some(by), None, None).await?;
    scheduler::enqueue_refresh(&mut transaction, incident_id, now, true).await?;
    scheduler::enqueue(&mut transaction, JobKind::NotifyReporter, Some(incident_id), None, Some("acknowledged"), now)
        .await?;
    transaction.commit().await?;
    Ok(Outcome::Done)
}

/// Records a resolution (which also acknowledges).
pub async fn resolve(
    db: &SqlitePool,
    incident_id: i64,
    by: i64,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> sqlx::Result<Outcome> {
    let mut transaction = crate::db::begin(db).await?;
    let was_acknowledged: Option<Option<DateTime<Utc>>> =
        sqlx::query_scalar("SELECT acknowledged_at FROM incidents WHERE id = ? AND resolved_at IS NULL")
            .bind(incident_id)
            .fetch_optional(&mut *transaction)
            .await?;
    let changed = sqlx::query(
        "UPDATE incidents SET resolved_at = ?, resolved_by = ?, resolution = ?,
             acknowledged_at = COALESCE(acknowledged_at, ?), acknowledged_by = COALESCE(acknowledged_by, ?)
         WHERE id = ? AND resolved_at IS NULL",
    )
    .bind(now)
    .bind(by)
    .bind(note)
    .bind(now)
    .bind(by)
    .bind(incident_id)
    .execute(&mut *transaction)
    .await?;
    if changed.rows_affected() == 0 {
        return unchanged(&mut transaction, incident_id).await;
    }
    scheduler::cancel_escalation(&mut transaction, incident_id, now).await?;
    if matches!(was_acknowledged, Some(None)) {
        record(&mut transaction, incident_id, now, EventKind::Acknowledged, Some(by), None, None).await?;
    }
    record(&mut transaction, incident_id, now, EventKind::Resolved, Some(by), None, note).await?;
    scheduler::enqueue_refresh(&mut transaction, incident_id, now, true).await?;
    scheduler::enqueue(&mut transaction, JobKind::NotifyReporter, Some(incident_id), None, Some("resolved"), now)
        .await?;
    transaction.commit().await?;
    Ok(Outcome::Done)
}

/// Who may acknowledge and resolve.
pub const RESPONDERS: &[Role] = &[Role::Ops, Role::Supervisor];

// ----- rendering -----

/// Local clock time for messages.
pub fn clock_time(at: DateTime<Utc>, timezone: Tz) -> String {
    at.with_timezone(&timezone).format("%H:%M").to_string()
}

/// "3 分钟" / "1 小时 5 分钟" (plain text).
pub fn duration_text(i18n: &I18n, lang: Lang, from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    let seconds = (to - from).num_seconds().max(0);
    let (hours, minutes, secs) = (seconds / 3600, (seconds % 3600) / 60, seconds % 60);
    if hours > 0 {
        tp!(i18n, lang, "duration-hours", hours = hours, minutes = minutes)
    } else if minutes > 0 {
        tp!(i18n, lang, "duration-minutes", minutes = minutes)
    } else {
        tp!(i18n, lang, "duration-seconds", seconds = secs)
    }
}

/// What the target of a step is called in a sentence (HTML).
pub async fn target_label(floor: &Floor, lang: Lang, target: &Target) -> sqlx::Result<String> {
    let i18n = &floor.i18n;
    Ok(match target {
        Target::Duty => t!(i18n, lang, "target-duty"),
        Target::Backup => t!(i18n, lang, "target-backup"),
        Target::Role(role) => t!(i18n, lang, "target-role", role = role.label(i18n, lang)),
        Target::User(id) => team::name_html(&floor.db, Some(*id)).await?,
    })
}

fn actions_label(i18n: &I18n, lang: Lang, actions: &[Action]) -> String {
    let labels: Vec<String> = actions
        .iter()
        .map(|action| match action {
            Action::Call => tp!(i18n, lang, "action-call"),
            Action::Private => tp!(i18n, lang, "action-private"),
            Action::Mention => tp!(i18n, lang, "action-mention"),
        })
        .collect();
    i18n.list(lang, &labels)
}

/// The next escalation step still pending, as a sentence (HTML), if any.
async fn next_step_line(floor: &Floor, lang: Lang, incident: &Incident, chain: &Chain) -> sqlx::Result<Option<String>> {
    let Some((step_index, due_at)) = scheduler::next_pending_step(&floor.db, incident.id).await? else {
        return Ok(None);
    };
    let Some(step) = usize::try_from(step_index).ok().and_then(|index| chain.steps.get(index)) else { return Ok(None) };
    let target = target_label(floor, lang, &step.target).await?;
    Ok(Some(t!(
        floor.i18n,
        lang,
        "incident-next-step",
        time = clock_time(due_at, floor.config.timezone),
        actions = actions_label(&floor.i18n, lang, &step.actions),
        target = Arg::Html(target)
    )))
}

/// The status block shared by both live messages (HTML).
pub async fn render_status(floor: &Floor, lang: Lang, incident: &Incident) -> anyhow::Result<String> {
    let i18n = &floor.i18n;
    let db = &floor.db;
    let timezone = floor.config.timezone;
    let mut lines = Vec::new();
    let status = if let Some(resolved_at) = incident.resolved_at {
        t!(i18n, lang, "incident-status-resolved", number = incident.id)
            + &t!(i18n, lang, "incident-took", duration = duration_text(i18n, lang, incident.reported_at, resolved_at))
    } else if incident.acknowledged_at.is_some() {
        t!(i18n, lang, "incident-status-acknowledged", number = incident.id)
    } else {
        t!(i18n, lang, "incident-status-open", number = incident.id)
    };
    lines.push(format!("{} {status}", incident.severity().icon()));
    let store_label = store::label_of(db, i18n, lang, incident.store_id).await?;
    lines.push(t!(i18n, lang, "incident-store", store = store_label));
    lines.push(t!(i18n, lang, "incident-kind", kind = incident.kind_label(i18n, lang)));
    let mut description: String = incident.description.chars().take(RELAY_TEXT_LIMIT).collect();
    let cut = description.chars().count() < incident.description.chars().count();
    if cut {
        description.push('…');
    }
    lines.push(t!(i18n, lang, "incident-description", text = description));
    if cut {
        lines.push(t!(i18n, lang, "incident-full-text", number = incident.id));
    }
    lines.push(t!(
        i18n,
        lang,
        "incident-reporter",
        person = Arg::Html(team::name_html(db, Some(incident.reporter_id)).await?),
        time = clock_time(incident.reported_at, timezone)
    ));
    // One read of the timeline serves the +1 lines and the progress lines.
    let timeline = events(db, incident.id).await?;
    for event in &timeline {
        if event.kind == EventKind::Joined.as_str() {
            lines.push(t!(
                i18n,
                lang,
                "incident-joined",
                person = Arg::Html(team::name_html(db, event.actor_id).await?),
                time = clock_time(event.at, timezone)
            ));
        }
    }
    match (incident.acknowledged_at, incident.resolved_at) {
        (_, Some(resolved_at)) => {
            lines.push(t!(
                i18n,
                lang,
                "incident-resolved-by",
                person = Arg::Html(team::name_html(db, incident.resolved_by).await?),
                time = clock_time(resolved_at, timezone),
                note = incident.resolution.clone().filter(|note| !note.is_empty()).unwrap_or_else(|| "—".to_owned())
            ));
        }
        (Some(acknowledged_at), None) => {
            lines.push(t!(
                i18n,
                lang,
                "incident-acknowledged-by",
                person = Arg::Html(team::name_html(db, incident.acknowledged_by).await?),
                duration = duration_text(i18n, lang, incident.reported_at, acknowledged_at)
            ));
        }
        (None, None) => {
            lines.push(t!(i18n, lang, "incident-waiting", time = clock_time(incident.reported_at, timezone)));
            let team_name = team::team_name(db, incident.team_id).await?;
            let chain = floor.config.chain_for(&team_name);
            if let Some(next) = next_step_line(floor, lang, incident, chain).await? {
                lines.push(next);
            }
        }
    }
    let progress = escalation_progress(floor, lang, &timeline).await?;
    if !progress.is_empty() {
        lines.push(t!(i18n, lang, "incident-progress"));
        lines.extend(progress);
    }
    Ok(lines.join("\n"))
}

/// The last escalation events, newest last (HTML lines).
async fn escalation_progress(floor: &Floor, lang: Lang, events: &[Event]) -> anyhow::Result<Vec<String>> {
    let shown = [
        EventKind::StepNobody,
        EventKind::PrivateSent,
        EventKind::PrivateFailed,
        EventKind::Mentioned,
        EventKind::CallPlaced,
        EventKind::CallAnswered,
        EventKind::CallFailed,
        EventKind::CallNoNumber,
        EventKind::CallNoProvider,
        EventKind::CallError,
        EventKind::RelayFailed,
    ];
    let mut lines = Vec::new();
    for event in events.iter().filter(|event| shown.iter().any(|kind| kind.as_str() == event.kind)) {
        lines.push(format!("• {}", render_event(floor, lang, event).await?));
    }
    let keep = lines.len().saturating_sub(6);
    Ok(lines.split_off(keep))
}

/// One timeline entry as a sentence (HTML), without its time.
pub async fn render_event(floor: &Floor, lang: Lang, event: &Event) -> anyhow::Result<String> {
    let i18n = &floor.i18n;
    let actor = Arg::Html(team::name_html(&floor.db, event.actor_id).await?);
    let subject = Arg::Html(team::name_html(&floor.db, event.subject_id).await?);
    let detail = event.detail.clone().filter(|detail| !detail.is_empty()).unwrap_or_else(|| "—".to_owned());
    let time = clock_time(event.at, floor.config.timezone);
    Ok(match event.kind.as_str() {
        "reported" => t!(i18n, lang, "event-reported", person = actor, time = time),
        "joined" => t!(i18n, lang, "event-joined", person = actor, time = time),
        "relayed" => t!(i18n, lang, "event-relayed", time = time),
        "relay_failed" => t!(i18n, lang, "event-relay-failed", time = time),
        "step" => t!(i18n, lang, "event-step", step = detail, time = time),
        "step_late" => t!(i18n, lang, "event-step-late", detail = detail, time = time),
        "step_nobody" => t!(i18n, lang, "event-step-nobody", detail = detail, time = time),
        "private_sent" => t!(i18n, lang, "event-private-sent", person = subject, time = time),
        "private_failed" => t!(i18n, lang, "event-private-failed", person = subject, time = time),
        "mentioned" => t!(i18n, lang, "event-mentioned", people = detail, time = time),
        "call_placed" if detail == "possibly-repeated" => {
            t!(i18n, lang, "event-call-placed-again", person = subject, time = time)
        }
        "call_placed" => t!(i18n, lang, "event-call-placed", person = subject, time = time),
        "call_answered" => t!(i18n, lang, "event-call-answered", person = subject, time = time),
        "call_failed" => t!(i18n, lang, "event-call-failed", person = subject, status = detail, time = time),
        "call_retry" => t!(i18n, lang, "event-call-retry", person = subject, detail = detail, time = time),
        "call_no_number" => t!(i18n, lang, "event-call-no-number", person = subject, time = time),
        "call_no_provider" => t!(i18n, lang, "event-call-no-provider", person = subject, time = time),
        "call_error" => t!(i18n, lang, "event-call-error", person = subject, detail = detail, time = time),
        "call_cancelled" => t!(i18n, lang, "event-call-cancelled", person = subject, time = time),
        "acknowledged" => t!(i18n, lang, "event-acknowledged", person = actor, time = time),
        "resolved" => t!(i18n, lang, "event-resolved", person = actor, note = detail, time = time),
        other => crate::telegram::html::escape(other),
    })
}

/// The keyboard of a live message: Acknowledge until acknowledged, Resolved until resolved.
pub fn keyboard(i18n: &I18n, lang: Lang, incident: &Incident) -> Option<InlineKeyboardMarkup> {
    if !incident.is_open() {
        return None;
    }
    let mut row = Vec::new();
    if incident.acknowledged_at.is_none() {
        row.push(InlineKeyboardButton::callback(
            tp!(i18n, lang, "button-acknowledge"),
            CallbackData::Acknowledge(incident.id).encode(),
        ));
    }
    row.push(InlineKeyboardButton::callback(
        tp!(i18n, lang, "button-resolve"),
        CallbackData::Resolve(incident.id).encode(),
    ));
    Some(InlineKeyboardMarkup::new(vec![row]))
}

/// The team-group message: the guidance for the agent facing the customer, then the status.
pub async fn render_team_message(floor: &Floor, lang: Lang, incident: &Incident) -> anyhow::Result<String> {
    let mut text = t!(floor.i18n, lang, "anomaly-guidance", number = incident.id);
    if incident.ops_message_id.is_none() && incident.resolved_at.is_none() && !has_ops_group(&floor.db).await? {
        text.push('\n');
        text.push_str(&t!(floor.i18n, lang, "anomaly-no-ops-group"));
    }
    text.push_str("\n\n");
    text.push_str(&render_status(floor, lang, incident).await?);
    Ok(text)
}

/// The relay in the cross-department group.
pub async fn render_relay(floor: &Floor, lang: Lang, incident: &Incident) -> anyhow::Result<String> {
    let team = team::team_name(&floor.db, incident.team_id).await?;
    let mut text = if incident.is_store_anomaly() {
        t!(floor.i18n, lang, "relay-header", team = team)
    } else {
        t!(floor.i18n, lang, "relay-header-patrol", team = team)
    };
    text.push('\n');
    text.push_str(&render_status(floor, lang, incident).await?);
    Ok(text)
}

async fn has_ops_group(db: &SqlitePool) -> sqlx::Result<bool> {
    Ok(ops_group(db).await?.is_some())
}

/// The live cross-department group, if one is bound.
pub async fn ops_group(db: &SqlitePool) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar("SELECT chat_id FROM chats WHERE binding = 'ops' AND active = 1").fetch_optional(db).await
}

/// The incidents a live message shows: one for a single relay or confirmation, several for a
/// digest. `relay` picks the cross-department message, else the team-group one.
async fn on_message(db: &SqlitePool, chat_id: i64, message_id: i64, relay: bool) -> sqlx::Result<Vec<Incident>> {
    if relay {
        sqlx::query_as(concat!(
            "SELECT ",
            incident_columns!(),
            " FROM incidents WHERE ops_chat_id = ? AND ops_message_id = ? ORDER BY id"
        ))
        .bind(chat_id)
        .bind(message_id)
        .fetch_all(db)
        .await
    } else {
        sqlx::query_as(concat!(
            "SELECT ",
            incident_columns!(),
            " FROM incidents WHERE team_chat_id = ? AND team_message_id = ? ORDER BY id"
        ))
        .bind(chat_id)
        .bind(message_id)
        .fetch_all(db)
        .await
    }
}

/// Submits the current render of both live messages to the lane, which sends an edit only
/// when it changes what the message shows. A message carrying several incidents is a digest
/// and is drawn as one. `urgent` after an acknowledgement or resolution.
pub async fn refresh_messages(floor: &Floor, incident_id: i64, urgent: bool) -> anyhow::Result<()> {
    let Some(incident) = get(&floor.db, incident_id).await? else { return Ok(()) };
    let places = [
        (incident.team_chat_id.filter(|_| incident.is_store_anomaly()), incident.team_message_id, false),
        (incident.ops_chat_id, incident.ops_message_id, true),
    ];
    for (chat_id, message_id, relay) in places {
        let (Some(chat_id), Some(message_id)) = (chat_id, message_id) else { continue };
        let lang = floor.chat_language(chat_id).await;
        let shown = on_message(&floor.db, chat_id, message_id, relay).await?;
        let (text, keyboard) = if shown.len() > 1 {
            let view = crate::digest::View { db: &floor.db, i18n: &floor.i18n, config: &floor.config, lang };
            let kind = if relay {
                crate::telegram::lane::MergeKind::Relay
            } else {
                crate::telegram::lane::MergeKind::Confirmation
            };
            let rendered = view.board(kind, &shown).await?;
            (rendered.html, rendered.keyboard)
        } else if relay {
            (render_relay(floor, lang, &incident).await?, keyboard(&floor.i18n, lang, &incident))
        } else {
            (render_team_message(floor, lang, &incident).await?, keyboard(&floor.i18n, lang, &incident))
        };
        let message_id = i32::try_from(message_id).unwrap_or_default();
        floor.lane.refresh(chat_id, message_id, &text, keyboard, urgent).await?;
    }
    Ok(())
}

// ----- commands and buttons -----

fn parse_number(text: &str) -> Option<i64> {
    text.trim().trim_start_matches('#').parse::<i64>().ok().filter(|n| *n > 0)
}

/// What an acknowledgement or resolution came to, as plain text (a reply or a popup).
fn outcome_text(i18n: &I18n, lang: Lang, number: i64, outcome: Outcome, acknowledging: bool) -> String {
    match (outcome, acknowledging) {
        (Outcome::Done, true) => tp!(i18n, lang, "ack-done", number = number),
        (Outcome::Done, false) => tp!(i18n, lang, "resolve-done", number = number),
        (Outcome::AlreadyDone, true) => tp!(i18n, lang, "ack-already", number = number),
        (Outcome::AlreadyDone, false) => tp!(i18n, lang, "resolve-already", number = number),
        (Outcome::NotFound, _) => tp!(i18n, lang, "incident-not-found", number = number),
    }
}

async fn answer_outcome(
    request: &Request<'_>,
    number: i64,
    outcome: Outcome,
    acknowledging: bool,
) -> anyhow::Result<()> {
    let text = outcome_text(request.i18n(), request.lang, number, outcome, acknowledging);
    request.reply(&crate::telegram::html::escape(&text)).await?;
    Ok(())
}

/// `/ack N`.
pub async fn ack_command(request: &Request<'_>, args: &str) -> anyhow::Result<()> {
    let Some(number) = parse_number(args) else {
        let usage =
            crate::telegram::help::usage(request.i18n(), request.lang, crate::telegram::command::CommandName::Ack);
        request.reply(&t!(request.i18n(), request.lang, "usage", usage = Arg::Html(usage))).await?;
        return Ok(());
    };
    let outcome = acknowledge(request.db(), number, request.caller.user_id, request.now()).await?;
    if outcome == Outcome::Done {
        request.floor.scheduler.wake();
    }
    answer_outcome(request, number, outcome, true).await
}

/// `/resolve N <note>`.
pub async fn resolve_command(request: &Request<'_>, args: &str) -> anyhow::Result<()> {
    let (number_text, note) = match args.split_once(char::is_whitespace) {
        Some((number, note)) => (number, Some(note.trim()).filter(|note| !note.is_empty())),
        None => (args, None),
    };
    let Some(number) = parse_number(number_text) else {
        let usage =
            crate::telegram::help::usage(request.i18n(), request.lang, crate::telegram::command::CommandName::Resolve);
        request.reply(&t!(request.i18n(), request.lang, "usage", usage = Arg::Html(usage))).await?;
        return Ok(());
    };
    let outcome = resolve(request.db(), number, request.caller.user_id, note, request.now()).await?;
    if outcome == Outcome::Done {
        request.floor.scheduler.wake();
    }
    answer_outcome(request, number, outcome, false).await
}

/// A press of Acknowledge or Resolved. Returns the popup text.
pub async fn button(
    floor: &Floor,
    lang: Lang,
    user_id: i64,
    roles: &team::RoleSet,
    data: CallbackData,
) -> anyhow::Result<(String, bool)> {
    let i18n = &floor.i18n;
    if !roles.any_of(RESPONDERS) {
        return Ok((tp!(i18n, lang, "button-only-responders"), true));
    }
    let now = floor.clock.now();
    let (outcome, number, acknowledging) = match data {
        CallbackData::Acknowledge(id) => (acknowledge(&floor.db, id, user_id, now).await?, id, true),
        CallbackData::Resolve(id) => (resolve(&floor.db, id, user_id, None, now).await?, id, false),
        _ => return Ok((String::new(), false)),
    };
    if outcome == Outcome::Done {
        floor.scheduler.wake();
    }
    Ok((outcome_text(i18n, lang, number, outcome, acknowledging), false))
}

/// `/incident N`: the whole timeline, with time to acknowledge and to resolve.
pub async fn show(request: &Request<'_>, args: &str) -> anyhow::Result<()> {
    let (lang, i18n) = (request.lang, request.i18n());
    let Some(number) = parse_number(args) else {
        let usage =
            crate::telegram::help::usage(request.i18n(), request.lang, crate::telegram::command::CommandName::Incident);
        request.reply(&t!(i18n, lang, "usage", usage = Arg::Html(usage))).await?;
        return Ok(());
    };
    let Some(incident) = get(request.db(), number).await? else {
        request.reply(&t!(i18n, lang, "incident-not-found", number = number)).await?;
        return Ok(());
    };
    let store_label = store::label_of(request.db(), i18n, lang, incident.store_id).await?;
    let mut text = t!(
        i18n,
        lang,
        "incident-header",
        number = incident.id,
        kind = incident.kind_label(i18n, lang),
        store = store_label
    );
    text.push('\n');
    text.push_str(&t!(i18n, lang, "incident-description", text = incident.description.as_str()));
    text.push('\n');
    for event in events(request.db(), incident.id).await? {
        text.push('\n');
        text.push_str(&render_event(request.floor, lang, &event).await?);
    }
    text.push('\n');
    if let Some(acknowledged_at) = incident.acknowledged_at {
        text.push_str(&t!(
            i18n,
            lang,
            "incident-time-to-ack",
            duration = duration_text(i18n, lang, incident.reported_at, acknowledged_at)
        ));
        text.push('\n');
    }
    if let Some(resolved_at) = incident.resolved_at {
        text.push_str(&t!(
            i18n,
            lang,
            "incident-time-to-resolve",
            duration = duration_text(i18n, lang, incident.reported_at, resolved_at)
        ));
    }
    request.reply(text.trim_end()).await?;
    Ok(())
}

/// `/anomalies`: open incidents with age and state.
pub async fn list_open(request: &Request<'_>) -> anyhow::Result<()> {
    let (lang, i18n) = (request.lang, request.i18n());
    let open = open(request.db()).await?;
    if open.is_empty() {
        request.reply(&t!(i18n, lang, "anomalies-none")).await?;
        return Ok(());
    }
    let now = request.now();
    let mut text = t!(i18n, lang, "anomalies-header", count = open.len());
    for incident in &open {
        let store = store::label_of(request.db(), i18n, lang, incident.store_id).await?;
        let state = if incident.acknowledged_at.is_some() {
            tp!(i18n, lang, "state-acknowledged")
        } else {
            tp!(i18n, lang, "state-waiting")
        };
        text.push('\n');
        text.push_str(&t!(
            i18n,
            lang,
            "anomalies-line",
            number = incident.id,
            store = store,
            kind = incident.kind_label(i18n, lang),
            age = duration_text(i18n, lang, incident.reported_at, now),
            state = state
        ));
    }
    request.reply(&text).await?;
    Ok(())
}
