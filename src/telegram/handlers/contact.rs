//! `/phone` and `/emergency`: private contact details, handled only in a private chat.

use crate::db::{chats, contacts, people};
use crate::domain::contact::{self, PhoneNumber, PhoneNumberError};
use crate::domain::outbound::Outgoing;
use crate::i18n::{Arg, I18n, Lang};
use crate::t;
use crate::telegram::context::Request;

/// In a group: explain that these belong in a private chat, never repeat the number, and
/// delete the message that carried one where the bot is allowed to.
pub async fn refuse_in_group(request: &Request<'_>, args: &str) -> anyhow::Result<()> {
    let carries_number = contact::looks_like_it_carries_a_number(args);
    // Delete only where Telegram said the bot may: a refused request helps nobody.
    let may_delete = chats::can_delete(request.db(), request.chat_id()).await?;
    let deleted =
        carries_number && may_delete && request.floor.lane.delete(request.chat_id(), request.message.id.0).await;
    if !request.place.is_bound_group() {
        // Unbound groups get no answers, but a number is still removed when possible.
        return Ok(());
    }
    let (lang, i18n) = (request.lang, request.i18n());
    let bot = request.floor.bot_username();
    let mut text = t!(i18n, lang, "contact-private-only", bot = bot);
    if carries_number {
        text.push('\n');
        text.push_str(&if deleted {
            t!(i18n, lang, "contact-deleted")
        } else {
            t!(i18n, lang, "contact-delete-yourself")
        });
    }
    // The original may be gone, so this is a plain message, not a reply.
    request.floor.lane.send(request.chat_id(), Outgoing::new(text)).await?;
    Ok(())
}

fn number_error(i18n: &I18n, lang: Lang, error: PhoneNumberError) -> String {
    match error {
        PhoneNumberError::NoCountryCode => t!(i18n, lang, "phone-invalid-country"),
        PhoneNumberError::NotDigits => t!(i18n, lang, "phone-invalid-digits"),
        PhoneNumberError::Length => t!(i18n, lang, "phone-invalid-length"),
    }
}

pub async fn show_phone(request: &Request<'_>) -> anyhow::Result<()> {
    let (lang, i18n) = (request.lang, request.i18n());
    let text = match contacts::phone(request.db(), request.caller.user_id).await? {
        Some(number) => t!(i18n, lang, "phone-show", number = number.masked()),
        None => t!(i18n, lang, "phone-none"),
    };
    request.reply(&text).await?;
    Ok(())
}

pub async fn remove_phone(request: &Request<'_>) -> anyhow::Result<()> {
    let (lang, i18n) = (request.lang, request.i18n());
    let text = if contacts::remove_phone(request.db(), request.caller.user_id).await? {
        t!(i18n, lang, "phone-removed")
    } else {
        t!(i18n, lang, "phone-none")
    };
    request.reply(&text).await?;
    Ok(())
}

pub async fn set_phone(request: &Request<'_>, raw: &str) -> anyhow::Result<()> {
    let (lang, i18n) = (request.lang, request.i18n());
    let text = match PhoneNumber::parse(raw) {
        Ok(number) => {
            contacts::set_phone(request.db(), request.caller.user_id, &number, request.now()).await?;
            t!(i18n, lang, "phone-saved", number = number.masked())
        }
        Err(error) => number_error(i18n, lang, error),
    };
    request.reply(&text).await?;
    Ok(())
}

pub async fn show_emergency(request: &Request<'_>) -> anyhow::Result<()> {
    let (lang, i18n) = (request.lang, request.i18n());
    let text = match contacts::emergency_contact(request.db(), request.caller.user_id).await? {
        Some(contact) => t!(i18n, lang, "emergency-show", name = contact.name, number = contact.number.masked()),
        None => t!(i18n, lang, "emergency-none"),
    };
    request.reply(&text).await?;
    Ok(())
}

pub async fn remove_emergency(request: &Request<'_>) -> anyhow::Result<()> {
    let (lang, i18n) = (request.lang, request.i18n());
    let text = if contacts::remove_emergency_contact(request.db(), request.caller.user_id).await? {
        t!(i18n, lang, "emergency-removed")
    } else {
        t!(i18n, lang, "emergency-none")
    };
    request.reply(&text).await?;
    Ok(())
}

pub async fn set_emergency(request: &Request<'_>, name: &str, raw: &str) -> anyhow::Result<()> {
    let (lang, i18n) = (request.lang, request.i18n());
    let text = if name.chars().count() > 40 {
        t!(i18n, lang, "emergency-name-too-long")
    } else {
        match PhoneNumber::parse(raw) {
            Ok(number) => {
                contacts::set_emergency_contact(request.db(), request.caller.user_id, name, &number, request.now())
                    .await?;
                t!(i18n, lang, "emergency-saved", name = name, number = number.masked())
            }
            Err(error) => number_error(i18n, lang, error),
        }
    };
    request.reply(&text).await?;
    Ok(())
}

/// A supervisor reads someone's emergency contact. The read is recorded before it is shown.
pub async fn read_emergency(request: &Request<'_>, username: &str) -> anyhow::Result<()> {
    let (lang, i18n) = (request.lang, request.i18n());
    let Some(person) = people::person_by_username(request.db(), username).await? else {
        request.reply(&t!(i18n, lang, "role-unknown-person", who = format!("@{username}"))).await?;
        return Ok(());
    };
    let contact =
        contacts::read_emergency_contact_as(request.db(), request.caller.user_id, person.user_id, request.now())
            .await?;
    tracing::info!(reader = request.caller.user_id, subject = person.user_id, "emergency contact read");
    let text = match contact {
        Some(contact) => t!(
            i18n,
            lang,
            "emergency-read",
            person = Arg::Html(person.name_html()),
            name = contact.name,
            number = contact.number.as_str()
        ),
        None => t!(i18n, lang, "emergency-read-none", person = Arg::Html(person.name_html())),
    };
    request.reply(&text).await?;
    Ok(())
}
