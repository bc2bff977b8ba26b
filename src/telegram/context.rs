//! What a handler works with: the floor (the jobs' context, the lane, the bot's own identity)
//! and one request (who, where, in which language).

use std::ops::Deref;
use std::sync::{Arc, OnceLock};

use teloxide::types::Message;

use super::lane::Lane;
use crate::domain::outbound::{DeliveryError, Outgoing, Sent};
use crate::domain::team::{Place, RoleSet};
use crate::i18n::Lang;
use crate::jobs::Deps;

/// Everything a handler may need, shared by all of them. It reads as the jobs' context
/// (storage, settings, texts, time) with the lane and the bot's identity on top.
pub struct Floor {
    pub deps: Arc<Deps>,
    pub lane: Lane,
    /// The bot's own @username, to recognise `/command@this_bot`; known once Telegram answered.
    pub bot_username: OnceLock<String>,
    /// The bot's own user id, to ask Telegram what it may do in a group.
    pub bot_id: OnceLock<i64>,
}

impl Deref for Floor {
    type Target = Deps;

    fn deref(&self) -> &Deps {
        &self.deps
    }
}

impl Floor {
    pub fn bot_username(&self) -> &str {
        self.bot_username.get().map(String::as_str).unwrap_or_default()
    }
}

/// The person who sent a command, with every role they hold.
#[derive(Clone, Debug)]
pub struct Caller {
    pub user_id: i64,
    pub name: String,
    pub username: Option<String>,
    pub roles: RoleSet,
}

/// One command being handled: who, where, in which language.
pub struct Request<'a> {
    pub floor: &'a Floor,
    pub message: &'a Message,
    pub place: Place,
    pub lang: Lang,
    pub caller: Caller,
}

impl Request<'_> {
    pub fn chat_id(&self) -> i64 {
        self.message.chat.id.0
    }

    pub fn db(&self) -> &crate::db::Pool {
        &self.floor.db
    }

    pub fn i18n(&self) -> &crate::i18n::I18n {
        &self.floor.i18n
    }

    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.floor.now()
    }

    /// Answers in the same chat, as a reply to the command.
    pub async fn reply(&self, html: &str) -> Result<Vec<Sent>, DeliveryError> {
        let message = Outgoing::new(html).replying_to(Some(self.message.id.0));
        self.floor.lane.send(self.chat_id(), message).await
    }
}
