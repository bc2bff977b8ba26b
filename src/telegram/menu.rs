//! The command menus Telegram shows while typing `/`, built from the locale files.
//!
//! At start floorbot registers one list for all private chats and one for all groups, in the
//! configured default language (no language code) and in the other language (its two-letter
//! code). `/lang` in a chat sets that chat's own list.

use serde_json::{Value, json};

use super::command::CommandName;
use super::context::Floor;
use super::help::describe;
use crate::i18n::{I18n, Lang};

fn commands(i18n: &I18n, lang: Lang, private: bool) -> Value {
    CommandName::all()
        .filter(|name| name.in_menu(private))
        .map(|name| json!({ "command": name.as_str(), "description": describe(i18n, lang, name) }))
        .collect()
}

/// Registers the default menus. Failures are logged, not fatal: menus are a convenience.
pub async fn register_defaults(floor: &Floor) {
    let default = floor.config.language;
    for private in [true, false] {
        let scope = if private { json!({ "type": "all_private_chats" }) } else { json!({ "type": "all_group_chats" }) };
        for lang in Lang::ALL {
            let mut body = json!({ "commands": commands(&floor.i18n, lang, private), "scope": scope });
            if lang != default {
                body["language_code"] = json!(lang.telegram_code());
            }
            if let Err(error) = floor.lane.call_with_retry("setMyCommands", &body).await {
                tracing::warn!(%error, %lang, private, "could not register the command menu");
            }
        }
    }
}

/// Sets one chat's menu in its language.
pub async fn set_for_chat(floor: &Floor, chat_id: i64, private: bool, lang: Lang) {
    let body = json!({
        "commands": commands(&floor.i18n, lang, private),
        "scope": { "type": "chat", "chat_id": chat_id },
    });
    if let Err(error) = floor.lane.call_with_retry("setMyCommands", &body).await {
        tracing::warn!(%error, chat_id, "could not set the chat's command menu");
    }
}
