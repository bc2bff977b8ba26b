//! What each command and button does, one module per part of the floor. Place, permission and
//! arguments were checked before a command handler runs; a button handler answers with the
//! popup text (empty for none) and whether it is an alert.

pub mod anomaly;
pub mod checklist;
pub mod contact;
pub mod incident;
pub mod patrol;
pub mod store;
pub mod team;

use crate::domain::team::RoleSet;
use crate::i18n::{Arg, Lang};
use crate::t;

use super::command::CommandName;
use super::context::{Floor, Request};

/// A button press: who pressed which message where, with their roles.
pub struct Press<'a> {
    pub floor: &'a Floor,
    pub chat_id: i64,
    pub message_id: i32,
    pub user_id: i64,
    pub roles: RoleSet,
    pub lang: Lang,
}

/// What a button press answers: the popup text (empty for none) and whether it is an alert.
pub type Answer = (String, bool);

/// The usage line of a command, as a reply.
pub fn usage(request: &Request<'_>, name: CommandName) -> String {
    let usage = super::help::usage(request.i18n(), request.lang, name);
    t!(request.i18n(), request.lang, "usage", usage = Arg::Html(usage))
}
