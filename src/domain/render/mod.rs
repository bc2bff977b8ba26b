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
#[cfg(test)]
mod wording;

use std::collections::HashMap;

use chrono::{DateTime, Datelike, NaiveDate, Utc, Weekday};
use chrono_tz::Tz;

use crate::domain::schedule::Days;
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

/// "3 分钟" / "1 小时 5 分钟" / "2 天 4 小时" (plain text).
pub fn duration_text(i18n: &I18n, lang: Lang, from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    seconds_text(i18n, lang, (to - from).num_seconds())
}

/// A span of `seconds` as [`duration_text`] writes it.
pub fn seconds_text(i18n: &I18n, lang: Lang, seconds: i64) -> String {
    let seconds = seconds.max(0);
    let (days, hours, minutes, secs) =
        (seconds / 86_400, (seconds % 86_400) / 3600, (seconds % 3600) / 60, seconds % 60);
    if days > 0 {
        tp!(i18n, lang, "duration-days", days = days, hours = hours)
    } else if hours > 0 {
        tp!(i18n, lang, "duration-hours", hours = hours, minutes = minutes)
    } else if minutes > 0 {
        tp!(i18n, lang, "duration-minutes", minutes = minutes)
    } else {
        tp!(i18n, lang, "duration-seconds", seconds = secs)
    }
}

/// "5 分钟前" / "5 min ago" (plain text).
pub fn ago_text(i18n: &I18n, lang: Lang, then: DateTime<Utc>, now: DateTime<Utc>) -> String {
    tp!(i18n, lang, "time-ago", duration = duration_text(i18n, lang, then, now))
}

/// A weekday's short name: "周六" / "Sat".
pub fn weekday_text(i18n: &I18n, lang: Lang, weekday: Weekday) -> String {
    let key = match weekday {
        Weekday::Mon => "weekday-mon",
        Weekday::Tue => "weekday-tue",
        Weekday::Wed => "weekday-wed",
        Weekday::Thu => "weekday-thu",
        Weekday::Fri => "weekday-fri",
        Weekday::Sat => "weekday-sat",
        Weekday::Sun => "weekday-sun",
    };
    i18n.plain(lang, key, &[])
}

/// A date the way each language writes it on the floor: "11月29日 周六" / "Sat 29 Nov".
pub fn date_text(i18n: &I18n, lang: Lang, date: NaiveDate) -> String {
    let month = i18n.plain(lang, &format!("month-{}", date.month()), &[]);
    tp!(
        i18n,
        lang,
        "date",
        month = month,
        day = i64::from(date.day()),
        weekday = weekday_text(i18n, lang, date.weekday())
    )
}

/// The days a patrol runs, in words: "每天", "周一至周五", "周一、周三、周五" / "every day",
/// "Mon–Fri", "Mon, Wed, Fri".
pub fn days_text(i18n: &I18n, lang: Lang, days: Days) -> String {
    if days == Days::EVERY_DAY {
        return tp!(i18n, lang, "days-every-day");
    }
    if days.is_empty() {
        return tp!(i18n, lang, "days-none");
    }
    let parts: Vec<String> = days
        .runs()
        .into_iter()
        .map(|(first, len)| {
            let first_name = weekday_text(i18n, lang, first);
            if len == 1 {
                return first_name;
            }
            let last = (1..len).fold(first, |day, _| day.succ());
            tp!(i18n, lang, "days-range", first = first_name, last = weekday_text(i18n, lang, last))
        })
        .collect();
    i18n.list(lang, &parts)
}

/// The first `limit` characters, with an ellipsis when something was cut.
pub fn shorten(text: &str, limit: usize) -> String {
    let mut cut: String = text.chars().take(limit).collect();
    if text.chars().count() > limit {
        cut.push('…');
    }
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    fn i18n() -> I18n {
        I18n::load().expect("locales load")
    }

    #[test]
    fn dates_read_as_each_language_writes_them() {
        let i18n = i18n();
        let date = NaiveDate::from_ymd_opt(2025, 11, 29).expect("valid");
        assert_eq!(date_text(&i18n, Lang::ZhCn, date), "11月29日 周六");
        assert_eq!(date_text(&i18n, Lang::En, date), "Sat 29 Nov");
    }

    #[test]
    fn durations_have_days_and_never_go_negative() {
        let i18n = i18n();
        assert_eq!(seconds_text(&i18n, Lang::ZhCn, 52 * 3600 + 180), "2 天 4 小时");
        assert_eq!(seconds_text(&i18n, Lang::ZhCn, 3 * 3600 + 5 * 60), "3 小时 5 分钟");
        assert_eq!(seconds_text(&i18n, Lang::En, 300), "5 min");
        assert_eq!(seconds_text(&i18n, Lang::En, -5), "0 s");
    }

    #[test]
    fn patrol_days_are_words_not_codes() {
        let i18n = i18n();
        let text = |days: &str, lang| days_text(&i18n, lang, Days::parse(days).expect("valid days"));
        assert_eq!(text("daily", Lang::ZhCn), "每天");
        assert_eq!(text("mon-sat", Lang::ZhCn), "周一至周六");
        assert_eq!(text("mon,wed,fri", Lang::ZhCn), "周一、周三、周五");
        assert_eq!(text("sun-thu", Lang::ZhCn), "周日至周四");
        assert_eq!(text("mon-fri", Lang::En), "Mon–Fri");
        assert_eq!(text("mon,wed,sat-sun", Lang::En), "Mon, Wed, Sat–Sun");
    }

    #[test]
    fn patrol_days_shown_can_be_typed_back() {
        let i18n = i18n();
        let names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
        for bits in 1..128_u32 {
            let typed: Vec<&str> = (0..7).filter(|day| bits & (1 << day) != 0).map(|day| names[day]).collect();
            let days = Days::parse(&typed.join(",")).expect("valid days");
            for lang in Lang::ALL {
                let shown = days_text(&i18n, lang, days);
                assert_eq!(Days::parse(&shown), Ok(days), "{lang}: {shown}");
            }
        }
    }
}
