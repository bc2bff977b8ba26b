//! The command menus Telegram shows while typing `/`, built from the locale files.
//!
//! At start floorbot registers one list for all private chats and one for all groups, in the
//! configured default language (no language code) and in the other language (its two-letter
//! code). The cross-department group has a list of its own (set when it is bound, and at
//! start), and `/lang` in a chat sets that chat's own list.

use serde_json::{Value, json};

use super::command::{CommandName, Menu};
use super::context::Floor;
use super::help::describe;
use crate::db;
use crate::domain::team::Place;
use crate::i18n::{I18n, Lang};

fn commands(i18n: &I18n, lang: Lang, menu: Menu) -> Value {
    CommandName::all()
        .filter(|name| name.in_menu(menu))
        .map(|name| json!({ "command": name.as_str(), "description": describe(i18n, lang, name) }))
        .collect()
}

/// Registers the default menus, and the cross-department group's own if one is bound.
/// Failures are logged, not fatal: menus are a convenience.
pub async fn register_defaults(floor: &Floor) {
    let default = floor.config.language;
    for (menu, scope) in [(Menu::Private, "all_private_chats"), (Menu::Group, "all_group_chats")] {
        for lang in Lang::ALL {
            let mut body = json!({ "commands": commands(&floor.i18n, lang, menu), "scope": { "type": scope } });
            if lang != default {
                body["language_code"] = json!(lang.telegram_code());
            }
            if let Err(error) = floor.lane.call_with_retry("setMyCommands", &body).await {
                tracing::warn!(%error, %lang, ?menu, "could not register the command menu");
            }
        }
    }
    match db::incidents::ops_group(&floor.db).await {
        Ok(Some(chat_id)) => set_for_chat(floor, chat_id, Menu::OpsGroup, floor.chat_language(chat_id).await).await,
        Ok(None) => {}
        Err(error) => tracing::warn!(%error, "could not look up the cross-department group for its menu"),
    }
}

/// Sets one chat's menu in its language.
pub async fn set_for_chat(floor: &Floor, chat_id: i64, menu: Menu, lang: Lang) {
    let body = json!({
        "commands": commands(&floor.i18n, lang, menu),
        "scope": { "type": "chat", "chat_id": chat_id },
    });
    if let Err(error) = floor.lane.call_with_retry("setMyCommands", &body).await {
        tracing::warn!(%error, chat_id, "could not set the chat's command menu");
    }
}

/// After a group's binding changed from `before` to `after`: the cross-department group gets
/// its own menu; a group that stops being it goes back to the group menu (its own, in its
/// language, if someone chose one with `/lang`; else the default one).
pub async fn after_binding(floor: &Floor, chat_id: i64, before: &Place, after: &Place) {
    if *after == Place::OpsGroup {
        set_for_chat(floor, chat_id, Menu::OpsGroup, floor.chat_language(chat_id).await).await;
        return;
    }
    if *before != Place::OpsGroup {
        return;
    }
    match db::chats::chat_language(&floor.db, chat_id).await {
        Ok(Some(lang)) => set_for_chat(floor, chat_id, Menu::for_place(after), lang).await,
        Ok(None) => {
            let body = json!({ "scope": { "type": "chat", "chat_id": chat_id } });
            if let Err(error) = floor.lane.call_with_retry("deleteMyCommands", &body).await {
                tracing::warn!(%error, chat_id, "could not remove the chat's command menu");
            }
        }
        Err(error) => tracing::warn!(%error, chat_id, "could not read the chat's language for its menu"),
    }
}
