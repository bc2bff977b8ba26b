//! Store anomalies (店铺异常): `/anomaly <store> <kind> <what is wrong>` files a report in one
//! go; with parts missing, a short form asks for them (store and kind as buttons, then the
//! description as a reply). A form belongs to one person in one chat and expires after five
//! minutes.

use super::{Answer, Press};
use crate::db::incidents::{self, Filed, Report};
use crate::db::{chats, forms, stores};
use crate::domain::incident::{AnomalyKind, DESCRIPTION_LIMIT};
use crate::domain::outbound::{Button, ButtonAction, Keyboard, Outgoing};
use crate::domain::store::{Store, match_prefix, render_list};
use crate::domain::team::Place;
use crate::i18n::{Arg, I18n, Lang};
use crate::telegram::context::{Floor, Request};
use crate::{t, tp};

/// How long a half-filled form waits.
pub const FORM_LIFETIME_MINUTES: i64 = 5;

/// The parts of a form filled so far.
struct Form {
    store: Option<Store>,
    kind: Option<AnomalyKind>,
}

/// Files a complete report and answers in the chat when it joined an open one (a new one is
/// confirmed by its own job).
async fn file_and_answer(floor: &Floor, lang: Lang, team_name: &str, report: Report<'_>) -> anyhow::Result<()> {
    let chain = floor.config.chain_for(team_name);
    let filed = incidents::file(&floor.db, chain, &report, floor.now()).await?;
    floor.runner.wake();
    if let Filed::Joined(id) = filed {
        let text = t!(floor.i18n, lang, "anomaly-joined", number = id);
        floor.lane.send(report.chat_id, Outgoing::new(text).replying_to(Some(report.message_id))).await?;
    }
    Ok(())
}

/// `/anomaly [store] [kind] [text]`.
pub async fn command(request: &Request<'_>, args: &str) -> anyhow::Result<()> {
    let (lang, i18n) = (request.lang, request.i18n());
    let Some((team_id, team_name)) = request.place.team() else { return Ok(()) };
    let stores = stores::list(request.db(), team_id).await?;
    if stores.is_empty() {
        request.reply(&t!(i18n, lang, "anomaly-no-stores")).await?;
        return Ok(());
    }
    let args = args.trim();
    let mut form = Form { store: None, kind: None };
    let mut description = "";
    if !args.is_empty() {
        let Some((found, rest)) = match_prefix(&stores, args) else {
            let given = args.split_whitespace().next().unwrap_or_default();
            let list = render_list(i18n, lang, &stores);
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
            file_and_answer(request.floor, lang, &team_name, report).await
        }
        _ => {
            let asker =
                Asker { floor: request.floor, chat_id: request.chat_id(), user_id: request.caller.user_id, lang };
            asker.ask_next(request.message.id.0, &stores, form).await
        }
    }
}

/// The word an agent types for a kind in `/anomaly` ("价格" / "price"); each parses back.
fn typed_word(i18n: &I18n, lang: Lang, kind: AnomalyKind) -> String {
    match kind {
        AnomalyKind::Coupon => tp!(i18n, lang, "anomaly-word-coupon"),
        AnomalyKind::Price => tp!(i18n, lang, "anomaly-word-price"),
        AnomalyKind::Stock => tp!(i18n, lang, "anomaly-word-stock"),
        AnomalyKind::Page => tp!(i18n, lang, "anomaly-word-page"),
        AnomalyKind::Other => tp!(i18n, lang, "anomaly-word-other"),
    }
}

fn unknown_kind(i18n: &I18n, lang: Lang, given: &str) -> String {
    let words: Vec<String> = AnomalyKind::all().map(|kind| typed_word(i18n, lang, kind)).collect();
    t!(i18n, lang, "anomaly-unknown-kind", given = given, known = i18n.list(lang, &words))
}

/// Who a form's next question goes to.
struct Asker<'a> {
    floor: &'a Floor,
    chat_id: i64,
    user_id: i64,
    lang: Lang,
}

impl Asker<'_> {
    /// Saves the form and asks for its next missing part.
    async fn ask_next(&self, request_message_id: i32, stores: &[Store], form: Form) -> anyhow::Result<()> {
        let (floor, lang) = (self.floor, self.lang);
        let i18n = &floor.i18n;
        let now = floor.now();
        let with_cancel = |options: Vec<Button>, per_row: usize| {
            let mut keyboard = Keyboard::grid(options, per_row);
            keyboard.rows.push(vec![Button::new(tp!(i18n, lang, "button-cancel"), ButtonAction::FormCancel)]);
            keyboard
        };
        let message = match (&form.store, form.kind) {
            (None, _) => {
                let choices = stores
                    .iter()
                    .map(|store| Button::new(store.label(i18n, lang), ButtonAction::FormStore(store.id)))
                    .collect();
                Outgoing::new(t!(i18n, lang, "form-pick-store")).with_keyboard(Some(with_cancel(choices, 2)))
            }
            (Some(store), None) => {
                let choices = AnomalyKind::all()
                    .map(|kind| Button::new(kind.label(i18n, lang), ButtonAction::FormKind(kind)))
                    .collect();
                Outgoing::new(t!(i18n, lang, "form-pick-kind", store = store.label(i18n, lang)))
                    .with_keyboard(Some(with_cancel(choices, 3)))
            }
            (Some(store), Some(kind)) => Outgoing::new(t!(
                i18n,
                lang,
                "form-describe",
                store = store.label(i18n, lang),
                kind = kind.label(i18n, lang)
            ))
            .asking_for_reply(),
        };
        // The form is stored before the prompt is visible, then tied to the prompt's message id.
        let expires_at = now + chrono::Duration::minutes(FORM_LIFETIME_MINUTES);
        let store_id = form.store.as_ref().map(|store| store.id);
        forms::save(&floor.db, self.chat_id, self.user_id, store_id, form.kind, request_message_id, expires_at).await?;
        floor.runner.wake();
        let sent = floor.lane.send(self.chat_id, message.replying_to(Some(request_message_id))).await?;
        if let Some(prompt) = sent.last() {
            forms::set_prompt(&floor.db, self.chat_id, self.user_id, prompt.message_id).await?;
        }
        Ok(())
    }
}

/// The team of a team group.
async fn team_of(floor: &Floor, chat_id: i64) -> anyhow::Result<Option<(i64, String)>> {
    Ok(match chats::place(&floor.db, chat_id, false).await? {
        Place::TeamGroup { team_id, team_name } => Some((team_id, team_name)),
        _ => None,
    })
}

/// A press on one of the form's buttons.
pub async fn form_button(press: &Press<'_>, action: ButtonAction) -> anyhow::Result<Answer> {
    let (floor, lang, chat_id) = (press.floor, press.lang, press.chat_id);
    let i18n = &floor.i18n;
    let form = forms::load(&floor.db, chat_id, press.user_id).await?;
    let Some(form) = form
        .filter(|form| form.prompt_message_id == Some(i64::from(press.message_id)) && form.expires_at > floor.now())
    else {
        // Someone else's form, or an old one: it stays as it is.
        return Ok((tp!(i18n, lang, "form-not-yours"), true));
    };
    let Some((team_id, _)) = team_of(floor, chat_id).await? else { return Ok((String::new(), false)) };
    let stores = stores::list(&floor.db, team_id).await?;
    let mut filled = Form {
        store: form.store_id.and_then(|id| stores.iter().find(|store| store.id == id).cloned()),
        kind: form.anomaly_kind,
    };
    match action {
        ButtonAction::FormCancel => {
            forms::delete(&floor.db, chat_id, press.user_id).await?;
            floor.lane.edit(chat_id, press.message_id, &t!(i18n, lang, "form-cancelled"), None).await.ok();
            return Ok((String::new(), false));
        }
        ButtonAction::FormStore(store_id) => match stores.iter().find(|store| store.id == store_id) {
            Some(store) => filled.store = Some(store.clone()),
            None => return Ok((tp!(i18n, lang, "form-store-gone"), true)),
        },
        ButtonAction::FormKind(kind) => filled.kind = Some(kind),
        _ => return Ok((String::new(), false)),
    }
    // The prompt shows what was chosen and loses its buttons; the next question follows.
    let chosen = match (&filled.store, filled.kind) {
        (Some(store), Some(kind)) => {
            tp!(i18n, lang, "store-and-kind", store = store.label(i18n, lang), kind = kind.label(i18n, lang))
        }
        (Some(store), None) => store.label(i18n, lang),
        _ => String::new(),
    };
    floor.lane.edit(chat_id, press.message_id, &t!(i18n, lang, "form-chosen", chosen = chosen), None).await.ok();
    let request_message_id = form.request_message_id.and_then(|id| i32::try_from(id).ok()).unwrap_or(press.message_id);
    let asker = Asker { floor, chat_id, user_id: press.user_id, lang };
    asker.ask_next(request_message_id, &stores, filled).await?;
    Ok((String::new(), false))
}

/// A message replying to one of the bot's prompts: if it answers this person's own form, it
/// is the description and completes the report. Returns whether it was consumed.
pub async fn form_reply(
    floor: &Floor,
    message: &teloxide::types::Message,
    user_id: i64,
    lang: Lang,
) -> anyhow::Result<bool> {
    let Some(replied) = message.reply_to_message() else { return Ok(false) };
    let chat_id = message.chat.id.0;
    let Some(form) = forms::load(&floor.db, chat_id, user_id).await? else { return Ok(false) };
    // Only the form's owner, replying to their own prompt, fills it in.
    if form.prompt_message_id != Some(i64::from(replied.id.0)) || form.expires_at <= floor.now() {
        return Ok(false);
    }
    let Some(description) = message.text().map(str::trim).filter(|text| !text.is_empty()) else { return Ok(false) };
    if description.chars().count() > DESCRIPTION_LIMIT {
        let text = t!(floor.i18n, lang, "anomaly-too-long", limit = DESCRIPTION_LIMIT);
        floor.lane.send(chat_id, Outgoing::new(text).replying_to(Some(message.id.0))).await?;
        return Ok(true);
    }
    let Some((team_id, team_name)) = team_of(floor, chat_id).await? else { return Ok(false) };
    let (Some(store_id), Some(kind)) = (form.store_id, form.anomaly_kind) else { return Ok(false) };
    let Some(store) = stores::by_id(&floor.db, store_id).await? else { return Ok(false) };
    forms::delete(&floor.db, chat_id, user_id).await?;
    let report =
        Report { team_id, store: &store, kind, description, reporter_id: user_id, chat_id, message_id: message.id.0 };
    file_and_answer(floor, lang, &team_name, report).await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kinds_offered_are_words_that_parse_back() {
        let i18n = I18n::load().expect("locales load");
        for lang in Lang::ALL {
            for kind in AnomalyKind::all() {
                assert_eq!(AnomalyKind::parse(&typed_word(&i18n, lang, kind)), Some(kind), "{lang}: {kind:?}");
            }
        }
        assert_eq!(
            unknown_kind(&i18n, Lang::ZhCn, "天气"),
            "没有「天气」这个类型。可选：优惠券、价格、库存、页面、其他"
        );
        assert_eq!(
            unknown_kind(&i18n, Lang::En, "weather"),
            "There is no kind “weather”. Kinds: coupon, price, stock, page, other"
        );
    }
}
