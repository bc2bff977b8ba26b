//! The command menus Telegram shows while typing `/`, built from the locale files.
//!
//! At start floorbot registers one list for all private chats and one for all groups, in the
//! configured default language (no language code) and in the other language (its two-letter
//! code). `/lang` in a chat sets that chat's own list.

use teloxide::prelude::*;
use teloxide::types::{BotCommand, BotCommandScope, Recipient};

use super::Floor;
use super::command::CommandName;
use super::help::describe;
use crate::i18n::{I18n, Lang};

fn commands(i18n: &I18n, lang: Lang, private: bool) -> Vec<BotCommand> {
    CommandName::ALL
        .into_iter()
        .filter(|name| name.in_menu(private))
        .map(|name| BotCommand::new(name.as_str(), describe(i18n, lang, name)))
        .collect()
}

/// Registers the default menus. Failures are logged, not fatal: menus are a convenience.
pub async fn register_defaults(floor: &Floor) {
    let default = floor.config.language;
    for private in [true, false] {
        let scope = if private { BotCommandScope::AllPrivateChats } else { BotCommandScope::AllGroupChats };
        for lang in Lang::ALL {
            let list = commands(&floor.i18n, lang, private);
            let scope = scope.clone();
            let result = floor
                .outbox
                .with_retry("setMyCommands", || {
                    let request = floor.outbox.bot().set_my_commands(list.clone()).scope(scope.clone());
                    if lang == default { request.send() } else { request.language_code(lang.telegram_code()).send() }
                })
                .await;
            if let Err(error) = result {
                tracing::warn!(%error, %lang, private, "could not register the command menu");
            }
        }
    }
}

/// Sets one chat's menu in its language.
pub async fn set_for_chat(floor: &Floor, chat_id: i64, private: bool, lang: Lang) {
    let list = commands(&floor.i18n, lang, private);
    let scope = BotCommandScope::Chat { chat_id: Recipient::Id(ChatId(chat_id)) };
    let result = floor
        .outbox
        .with_retry("setMyCommands", || floor.outbox.bot().set_my_commands(list.clone()).scope(scope.clone()).send())
        .await;
    if let Err(error) = result {
        tracing::warn!(%error, chat_id, "could not set the chat's command menu");
    }
}
