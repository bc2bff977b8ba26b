//! Every message floorbot writes, rendered from values: HTML text (every user-supplied string
//! escaped, every word from `locales/`) plus abstract buttons. Renderers read nothing: what
//! they show is loaded beforehand into a view.
//!
//! - [`incident`]: the live status of an incident, the relay and team messages, its timeline,
//!   and the alerts escalation sends.
//! - [`digest`]: what a burst of relays, confirmations or alerts becomes in one chat.
//! - [`patrol`]: the checklist, its prompts, reminders, summary and history.

pub mod digest;
pub mod incident;
pub mod patrol;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::domain::team::Person;
use crate::i18n::{I18n, Lang};
use crate::tp;

/// The people a message names, by id.
#[derive(Clone, Debug, Default)]
pub struct People(pub HashMap<i64, Person>);

impl People {
    pub fn get(&self, id: i64) -> Option<&Person> {
        self.0.get(&id)
    }

    /// Someone's name (HTML, does not notify): their recorded name, else their id; empty for
    /// nobody.
    pub fn name_html(&self, id: Option<i64>) -> String {
        match id {
            Some(id) => match self.0.get(&id) {
                Some(person) => person.name_html(),
                None => format!("<code>{id}</code>"),
            },
            None => String::new(),
        }
    }

    /// A mention that notifies them (HTML).
    pub fn mention(&self, id: i64) -> String {
        match self.0.get(&id) {
            Some(person) => person.mention(),
            None => crate::html::mention(id, &id.to_string(), None),
        }
    }

    /// Their display name (plain text), or the id.
    pub fn display_name(&self, id: i64) -> String {
        self.0.get(&id).map(Person::display_name).unwrap_or_else(|| id.to_string())
    }
}

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

/// The first `limit` characters, with an ellipsis when something was cut.
pub fn shorten(text: &str, limit: usize) -> String {
    let mut cut: String = text.chars().take(limit).collect();
    if text.chars().count() > limit {
        cut.push('…');
    }
    cut
}
