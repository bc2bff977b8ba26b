//! Store anomalies (店铺异常): an agent reports a wrong coupon, price, stock or product page;
//! floorbot records an incident, tells the agent what to say to the customer, relays it to
//! operations in the cross-department group and starts the escalation chain.
//!
//! `/anomaly <store> <kind> <what is wrong>` does it in one go. With arguments missing, a
//! short form asks for them (store and kind as buttons, then the description as a reply). A
//! form belongs to one person in one chat and expires after five minutes.

use chrono::{DateTime, Utc};
use sqlx::SqlitePool;
use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup, Message};

use crate::i18n::{Arg, I18n, Lang};
use crate::incident::{self, EventKind};
use crate::scheduler::{self, JobKind};
use crate::store::{self, Store};
use crate::team::Place;
use crate::telegram::callback::CallbackData;
use crate::telegram::lane::SendOptions;
use crate::telegram::{Floor, Request};
use crate::{t, tp};

/// What is wrong with the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnomalyKind {
    Coupon,
    Price,
    Stock,
    Page,
    Other,
}

impl AnomalyKind {
    pub const ALL: [AnomalyKind; 5] =
        [AnomalyKind::Coupon, AnomalyKind::Price, AnomalyKind::Stock, AnomalyKind::Page, AnomalyKind::Other];

    pub fn as_str(self) -> &'static str {
        match self {
            AnomalyKind::Coupon => "coupon",
            AnomalyKind::Price => "price",
            AnomalyKind::Stock => "stock",
            AnomalyKind::Page => "page",
            AnomalyKind::Other => "other",
        }
    }

    /// English names and the Chinese aliases agents type.
    pub fn parse(text: &str) -> Option<AnomalyKind> {
        Some(match text.trim().to_lowercase().as_str() {
            "coupon" | "优惠券" => AnomalyKind::Coupon,
            "price" | "价格" | "错价" => AnomalyKind::Price,
            "stock" | "库存" => AnomalyKind::Stock,
            "page" | "页面" | "详情页" => AnomalyKind::Page,
            "other" | "其他" => AnomalyKind::Other,
            _ => return None,
        })
    }

    pub fn label(self, i18n: &I18n, lang: Lang) -> String {
        match self {
            AnomalyKind::Coupon => tp!(i18n, lang, "kind-coupon"),
            AnomalyKind::Price => tp!(i18n, lang, "kind-price"),
            AnomalyKind::Stock => tp!(i18n, lang, "kind-stock"),
            AnomalyKind::Page => tp!(i18n, lang, "kind-page"),
            AnomalyKind::Other => tp!(i18n, lang, "kind-other"),
        }
    }
}

/// The longest description accepted (a Telegram message is at most 4,096 characters anyway).
pub const DESCRIPTION_LIMIT: usize = 4096;

/// A complete report.
pub struct Report<'a> {
    pub team_id: i64,
    pub store: &'a Store,
    pub kind: AnomalyKind,
    pub description: &'a str,
    pub reporter_id: i64,
    pub chat_id: i64,
    pub message_id: i32,
}

/// What a report became.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filed {
    New(i64),
    /// An open incident for the same store and kind existed: the report joined it.
    Joined(i64),
}

/// Records a report in one transaction: the incident, its first timeline event, the relay and
/// every escalation step as durable jobs. A second report of the same store and kind while one
/// is open joins it instead.
pub async fn file(
    db: &SqlitePool,
    chain: &crate::escalation::Chain,
    report: &Report<'_>,
    now: DateTime<Utc>,
) -> sqlx::Result<Filed> {
    // A busy database is waited out (the busy timeout, then again): a report is never lost
    // to contention, and the agent never sees it.
    let mut attempt = 1;
    loop {
        match file_once(db, chain, report, now).await {
            Err(error) if crate::db::is_busy(&error) && attempt < FILE_ATTEMPTS => {
                tracing::warn!(attempt, %error, "the database was busy while filing a report; trying again");
                attempt += 1;
            }
            result => return result,
        }
    }
}

/// Times a report is tried against a busy database, each after the busy timeout.
const FILE_ATTEMPTS: u32 = 5;

async fn file_once(
    db: &SqlitePool,
    chain: &crate::escalation::Chain,
    report: &Report<'_>,
    now: DateTime<Utc>,
) -> sqlx::Result<Filed> {
    let mut transaction = crate::db::begin(db).await?;
    let open: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM incidents WHERE store_id = ? AND anomaly_kind = ? AND resolved_at IS NULL ORDER BY id LIMIT 1",
    )
    .bind(report.store.id)
    .bind(report.kind.as_str())
    .fetch_optional(&mut *transaction)
    .await?;
    if let Some(id) = open {
        incident::record(
            &mut transaction,
            id,
            now,
            EventKind::Joined,
            Some(report.reporter_id),
            None,
            Some(report.description),
        )
        .await?;
        scheduler::enqueue_refresh(&mut transaction, id, now, false).await?;
        transaction.commit().await?;
        return Ok(Filed::Joined(id));
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO incidents (kind, severity, team_id, store_id, anomaly_kind, description, reporter_id, reported_at,
             report_chat_id, report_message_id)
         VALUES ('store_anomaly', 'yellow', ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(report.team_id)
    .bind(report.store.id)
    .bind(report.kind.as_str())
    .bind(report.description)
    .bind(report.reporter_id)
    .bind(now)
    .bind(report.chat_id)
    .bind(report.message_id)
    .fetch_one(&mut *transaction)
    .await?;
    incident::record(&mut transaction, id, now, EventKind::Reported, Some(report.reporter_id), None, None).await?;
    scheduler::enqueue(&mut transaction, JobKind::Confirm, Some(id), None, None, now).await?;
    scheduler::enqueue(&mut transaction, JobKind::Relay, Some(id), None, None, now).await?;
    scheduler::schedule_chain(&mut transaction, id, chain, now).await?;
    transaction.commit().await?;
    Ok(Filed::New(id))
}

/// Files a complete report and answers in the chat.
async fn file_and_answer(
    request_floor: &Floor,
    chat_id: i64,
    lang: Lang,
    team_name: &str,
    report: Report<'_>,
) -> anyhow::Result<()> {
    let floor = request_floor;
    let chain = floor.config.chain_for(team_name);
    let filed = file(&floor.db, chain, &report, floor.clock.now()).await?;
    floor.scheduler.wake();
    if let Filed::Joined(id) = filed {
        let text = t!(floor.i18n, lang, "anomaly-joined", number = id);
        floor.lane.send(chat_id, &text, SendOptions::reply_to(report.message_id)).await?;
    }
    Ok(())
}

/// `/anomaly [store] [kind] [text]`.
pub async fn command(request: &Request<'_>, args: &str) -> anyhow::Result<()> {
    let (lang, i18n) = (request.lang, request.i18n());
    let Some((team_id, team_name)) = request.place.team() else { return Ok(()) };
    let stores = store::list(request.db(), team_id).await?;
    if stores.is_empty() {
        request.reply(&t!(i18n, lang, "anomaly-no-stores")).await?;
        return Ok(());
    }
    let args = args.trim();
    let mut form = Form { store: None, kind: None };
    let mut description = "";
    if !args.is_empty() {
        let Some((found, rest)) = store::match_prefix(&stores, args) else {
            let given = args.split_whitespace().next().unwrap_or_default();
            let list = store::render_list(i18n, lang, &stores);
            request.reply(&t!(i18n, lang, "anomaly-unknown-store", given = given, stores = Arg::Html(list))).await?;
            return Ok(());
        };
        form.store = Some(found);
        let (kind_word, rest) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        if !kind_word.is_empty() {
            let Some(kind) = AnomalyKind::parse(kind_word) else {
                request.reply(&unknown_kind(i18n, lang, kind_word)).await?;
                return Ok(());
            };
            form.kind = Some(kind);
            description = rest.trim();
        }
    }
    if description.chars().count() > DESCRIPTION_LIMIT {
        request.reply(&t!(i18n, lang, "anomaly-too-long", limit = DESCRIPTION_LIMIT)).await?;
        return Ok(());
    }
    match (&form.store, form.kind, description.is_empty()) {
        (Some(store), Some(kind), false) => {
            let report = Report {
                team_id,
                store,
                kind,
                description,
                reporter_id: request.caller.user_id,
                chat_id: request.chat_id(),
                message_id: request.message.id.0,
            };
            file_and_answer(request.floor, request.chat_id(), lang, &team_name, report).await
        }
        _ => {
            ask_next(
                request.floor,
                request.chat_id(),
                request.caller.user_id,
                lang,
                request.message.id.0,
                &stores,
                form,
            )
            .await
        }
    }
}

fn unknown_kind(i18n: &I18n, lang: Lang, given: &str) -> String {
    let known = AnomalyKind::ALL
        .iter()
        .map(|kind| format!("{} ({})", kind.as_str(), kind.label(i18n, lang)))
        .collect::<Vec<_>>()
        .join(", ");
    t!(i18n, lang, "anomaly-unknown-kind", given = given, known = known)
}

/// The parts of a form filled so far.
struct Form {
    store: Option<Store>,
    kind: Option<AnomalyKind>,
}

/// How long a half-filled form waits.
pub const FORM_LIFETIME_MINUTES: i64 = 5;

/// Saves the form and asks for its next missing part.
async fn ask_next(
    floor: &Floor,
    chat_id: i64,
    user_id: i64,
    lang: Lang,
    request_message_id: i32,
    stores: &[Store],
    form: Form,
) -> anyhow::Result<()> {
    let i18n = &floor.i18n;
    let now = floor.clock.now();
    let buttons = |options: Vec<(String, CallbackData)>, per_row: usize| {
        let mut rows: Vec<Vec<InlineKeyboardButton>> = options
            .chunks(per_row)
            .map(|row| {
                row.iter().map(|(label, data)| InlineKeyboardButton::callback(label.clone(), data.encode())).collect()
            })
            .collect();
        rows.push(vec![InlineKeyboardButton::callback(
            tp!(i18n, lang, "button-cancel"),
            CallbackData::FormCancel.encode(),
        )]);
        SendOptions {
            reply_to: Some(request_message_id),
            keyboard: Some(InlineKeyboardMarkup::new(rows)),
            ..SendOptions::default()
        }
    };
    let (text, options) = match (&form.store, form.kind) {
        (None, _) => {
            let choices =
                stores.iter().map(|store| (store.label(i18n, lang), CallbackData::FormStore(store.id))).collect();
            (t!(i18n, lang, "form-pick-store"), buttons(choices, 2))
        }
        (Some(store), None) => {
            let choices =
                AnomalyKind::ALL.iter().map(|kind| (kind.label(i18n, lang), CallbackData::FormKind(*kind))).collect();
            (t!(i18n, lang, "form-pick-kind", store = store.label(i18n, lang)), buttons(choices, 3))
        }
        (Some(store), Some(kind)) => (
            t!(i18n, lang, "form-describe", store = store.label(i18n, lang), kind = kind.label(i18n, lang)),
            SendOptions { reply_to: Some(request_message_id), force_reply: true, ..SendOptions::default() },
        ),
    };
    // The form is stored before the prompt is visible, then tied to the prompt's message id.
    save_form(&floor.db, chat_id, user_id, &form, request_message_id, now).await?;
    floor.scheduler.wake();
    let sent = floor.lane.send(chat_id, &text, options).await?;
    if let Some(prompt) = sent.last() {
        sqlx::query("UPDATE anomaly_forms SET prompt_message_id = ? WHERE chat_id = ? AND user_id = ?")
            .bind(prompt.message_id)
            .bind(chat_id)
            .bind(user_id)
            .execute(&floor.db)
            .await?;
    }
    Ok(())
}

async fn save_form(
    db: &SqlitePool,
    chat_id: i64,
    user_id: i64,
    form: &Form,
    request_message_id: i32,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    let expires_at = now + chrono::Duration::minutes(FORM_LIFETIME_MINUTES);
    let mut transaction = crate::db::begin(db).await?;
    sqlx::query(
        "INSERT INTO anomaly_forms (chat_id, user_id, store_id, anomaly_kind, prompt_message_id, request_message_id, expires_at)
         VALUES (?, ?, ?, ?, NULL, ?, ?)
         ON CONFLICT (chat_id, user_id) DO UPDATE SET store_id = excluded.store_id, anomaly_kind = excluded.anomaly_kind,
             prompt_message_id = NULL, request_message_id = excluded.request_message_id, expires_at = excluded.expires_at",
    )
    .bind(chat_id)
    .bind(user_id)
    .bind(form.store.as_ref().map(|store| store.id))
    .bind(form.kind.map(AnomalyKind::as_str))
    .bind(request_message_id)
    .bind(expires_at)
    .execute(&mut *transaction)
    .await?;
    let payload = format!("{chat_id}:{user_id}");
    scheduler::enqueue(&mut transaction, JobKind::FormExpiry, None, Some(user_id), Some(&payload), expires_at).await?;
    transaction.commit().await
}

#[derive(sqlx::FromRow)]
struct FormRow {
    store_id: Option<i64>,
    anomaly_kind: Option<String>,
    prompt_message_id: Option<i64>,
    request_message_id: Option<i64>,
    expires_at: DateTime<Utc>,
}

async fn load_form(db: &SqlitePool, chat_id: i64, user_id: i64) -> sqlx::Result<Option<FormRow>> {
    sqlx::query_as(
        "SELECT store_id, anomaly_kind, prompt_message_id, request_message_id, expires_at FROM anomaly_forms
         WHERE chat_id = ? AND user_id = ?",
    )
    .bind(chat_id)
    .bind(user_id)
    .fetch_optional(db)
    .await
}

async fn delete_form(db: &SqlitePool, chat_id: i64, user_id: i64) -> sqlx::Result<bool> {
    let result = sqlx::query("DELETE FROM anomaly_forms WHERE chat_id = ? AND user_id = ?")
        .bind(chat_id)
        .bind(user_id)
        .execute(db)
        .await?;
    Ok(result.rows_affected() > 0)
}

/// A press on one of the form's buttons. Returns the popup text (empty for none) and whether
/// it is an alert.
pub async fn form_button(
    floor: &Floor,
    chat_id: i64,
    message_id: i32,
    user_id: i64,
    lang: Lang,
    data: CallbackData,
) -> anyhow::Result<(String, bool)> {
    let i18n = &floor.i18n;
    let now = floor.clock.now();
    let form = load_form(&floor.db, chat_id, user_id).await?;
    let Some(form) = form.filter(|form| form.prompt_message_id == Some(i64::from(message_id)) && form.expires_at > now)
    else {
        // Someone else's form, or an old one: it stays as it is.
        return Ok((tp!(i18n, lang, "form-not-yours"), true));
    };
    let Some((team_id, _)) = team_for_chat(&floor.db, chat_id).await? else {
        return Ok((String::new(), false));
    };
    let stores = store::list(&floor.db, team_id).await?;
    let mut filled = Form {
        store: match form.store_id {
            Some(id) => stores.iter().find(|store| store.id == id).cloned(),
            None => None,
        },
        kind: form.anomaly_kind.as_deref().and_then(AnomalyKind::parse),
    };
    match data {
        CallbackData::FormCancel => {
            delete_form(&floor.db, chat_id, user_id).await?;
            floor.lane.edit(chat_id, message_id, &t!(i18n, lang, "form-cancelled"), None).await.ok();
            return Ok((String::new(), false));
        }
        CallbackData::FormStore(store_id) => match stores.iter().find(|store| store.id == store_id) {
            Some(store) => filled.store = Some(store.clone()),
            None => return Ok((tp!(i18n, lang, "form-store-gone"), true)),
        },
        CallbackData::FormKind(kind) => filled.kind = Some(kind),
        _ => return Ok((String::new(), false)),
    }
    // The prompt shows what was chosen and loses its buttons; the next question follows.
    let chosen = match (&filled.store, filled.kind) {
        (Some(store), Some(kind)) => format!("{} · {}", store.label(i18n, lang), kind.label(i18n, lang)),
        (Some(store), None) => store.label(i18n, lang),
        _ => String::new(),
    };
    floor.lane.edit(chat_id, message_id, &t!(i18n, lang, "form-chosen", chosen = chosen), None).await.ok();
    let request_message_id = form.request_message_id.and_then(|id| i32::try_from(id).ok()).unwrap_or(message_id);
    ask_next(floor, chat_id, user_id, lang, request_message_id, &stores, filled).await?;
    Ok((String::new(), false))
}

async fn team_for_chat(db: &SqlitePool, chat_id: i64) -> sqlx::Result<Option<(i64, String)>> {
    Ok(match crate::team::place(db, chat_id, false).await? {
        Place::TeamGroup { team_id, team_name } => Some((team_id, team_name)),
        _ => None,
    })
}

/// A message replying to one of the bot's prompts: if it answers this person's own form, it
/// is the description and completes the report. Returns whether it was consumed.
pub async fn form_reply(floor: &Floor, message: &Message, user_id: i64, lang: Lang) -> anyhow::Result<bool> {
    let Some(replied) = message.reply_to_message() else { return Ok(false) };
    let chat_id = message.chat.id.0;
    let Some(form) = load_form(&floor.db, chat_id, user_id).await? else { return Ok(false) };
    // Only the form's owner, replying to their own prompt, fills it in.
    if form.prompt_message_id != Some(i64::from(replied.id.0)) {
        return Ok(false);
    }
    let now = floor.clock.now();
    if form.expires_at <= now {
        return Ok(false);
    }
    let Some(text) = message.text() else { return Ok(false) };
    let description = text.trim();
    let i18n = &floor.i18n;
    if description.is_empty() {
        return Ok(false);
    }
    if description.chars().count() > DESCRIPTION_LIMIT {
        floor
            .lane
            .send(
                chat_id,
                &t!(i18n, lang, "anomaly-too-long", limit = DESCRIPTION_LIMIT),
                SendOptions::reply_to(message.id.0),
            )
            .await?;
        return Ok(true);
    }
    let Some((team_id, team_name)) = team_for_chat(&floor.db, chat_id).await? else { return Ok(false) };
    let (Some(store_id), Some(kind)) = (form.store_id, form.anomaly_kind.as_deref().and_then(AnomalyKind::parse))
    else {
        return Ok(false);
    };
    let Some(store) = store::by_id(&floor.db, store_id).await? else { return Ok(false) };
    delete_form(&floor.db, chat_id, user_id).await?;
    let report =
        Report { team_id, store: &store, kind, description, reporter_id: user_id, chat_id, message_id: message.id.0 };
    file_and_answer(floor, chat_id, lang, &team_name, report).await?;
    Ok(true)
}

/// A form's five minutes are up: it goes, without side effects, and its prompt says so.
pub async fn expire_form(floor: &Floor, payload: &str, now: DateTime<Utc>) -> anyhow::Result<()> {
    let Some((chat_id, user_id)) = payload.split_once(':') else { return Ok(()) };
    let (Ok(chat_id), Ok(user_id)) = (chat_id.parse::<i64>(), user_id.parse::<i64>()) else { return Ok(()) };
    let Some(form) = load_form(&floor.db, chat_id, user_id).await? else { return Ok(()) };
    if form.expires_at > now {
        // The form was renewed since this timer was set; a later timer covers it.
        return Ok(());
    }
    delete_form(&floor.db, chat_id, user_id).await?;
    if let Some(prompt) = form.prompt_message_id.and_then(|id| i32::try_from(id).ok()) {
        let lang = floor.chat_language(chat_id).await;
        floor.lane.edit(chat_id, prompt, &t!(floor.i18n, lang, "form-expired"), None).await.ok();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_parse_in_both_languages() {
        assert_eq!(AnomalyKind::parse("优惠券"), Some(AnomalyKind::Coupon));
        assert_eq!(AnomalyKind::parse("价格"), Some(AnomalyKind::Price));
        assert_eq!(AnomalyKind::parse("库存"), Some(AnomalyKind::Stock));
        assert_eq!(AnomalyKind::parse("页面"), Some(AnomalyKind::Page));
        assert_eq!(AnomalyKind::parse("其他"), Some(AnomalyKind::Other));
        assert_eq!(AnomalyKind::parse("PRICE"), Some(AnomalyKind::Price));
        assert_eq!(AnomalyKind::parse("weather"), None);
    }
}
