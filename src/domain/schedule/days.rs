//! Days of the week and times of day as people type them — `mon-fri`, `周一-周五`, `工作日`,
//! `08:30`, `8：30` — parsed into values, and written back in one canonical form for storage.

use std::fmt;
use std::str::FromStr;

use chrono::{NaiveTime, Weekday};
use thiserror::Error;

/// Days of the week a patrol runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Days(u8); // bit 0 = Monday … bit 6 = Sunday

/// Canonical short names, Monday first, as stored and displayed.
const SHORT_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

impl Days {
    pub const EVERY_DAY: Days = Days(0b111_1111);
    /// Monday to Friday.
    pub const WORKDAYS: Days = Days(0b001_1111);
    /// Saturday and Sunday.
    pub const WEEKEND: Days = Days(0b110_0000);
    /// No day at all (a patrol that never starts).
    pub const NONE: Days = Days(0);

    fn bit(index: usize) -> u8 {
        1 << index
    }

    fn has_index(self, index: usize) -> bool {
        self.0 & Self::bit(index) != 0
    }

    pub fn contains(self, weekday: Weekday) -> bool {
        self.has_index(weekday.num_days_from_monday() as usize)
    }

    pub fn is_empty(self) -> bool {
        self.0 & Self::EVERY_DAY.0 == 0
    }

    /// Parses the forms people type; anything else is an error listing the accepted forms.
    ///
    /// Case and all whitespace are ignored (so "mon, wed", "mon - fri" and "every day" work),
    /// Chinese and ASCII punctuation are treated alike. A comma-separated list may mix single
    /// days, ranges and words ("mon-wed,fri", "工作日,周六"); a range may wrap over the weekend
    /// ("fri-mon"). An empty item ("mon,,fri", "mon,") is refused rather than skipped, since it
    /// usually means something was lost while typing.
    pub fn parse(text: &str) -> Result<Days, ScheduleError> {
        let bad = || ScheduleError::BadDays(text.trim().to_owned());
        let normalized = normalize_days(text);
        if normalized.is_empty() {
            return Err(bad());
        }
        let mut bits = 0u8;
        for item in normalized.split(',') {
            bits |= parse_days_item(item).ok_or_else(bad)?.0;
        }
        Ok(Days(bits))
    }

    /// Canonical English form for storage and display: "daily", "mon-fri", "mon,wed,fri",
    /// "sat-sun"...
    ///
    /// Consecutive days (two or more) become a range. A set that is one block wrapping over the
    /// weekend is written as a wrapping range ("fri-mon", "sun-thu"); otherwise the week is
    /// read Monday first ("mon,wed,sat-sun"). Every output except the one for an empty set is
    /// accepted by [`Days::parse`]; an empty set is written "none", which `parse` refuses, so
    /// that a typed "none" never silently disables a patrol.
    pub fn to_canonical(self) -> String {
        if self.is_empty() {
            return "none".to_owned();
        }
        if self == Self::EVERY_DAY {
            return "daily".to_owned();
        }
        let parts: Vec<String> = self
            .index_runs()
            .iter()
            .map(|&(start, len)| {
                if len == 1 {
                    SHORT_NAMES[start].to_owned()
                } else {
                    format!("{}-{}", SHORT_NAMES[start], SHORT_NAMES[(start + len - 1) % 7])
                }
            })
            .collect();
        parts.join(",")
    }

    /// The days as runs of consecutive days, each (first day, number of days), Monday first;
    /// one block wrapping over Sunday→Monday stays one run ("sun-thu"). Displayed runs of
    /// two or more days read as ranges.
    pub fn runs(self) -> Vec<(Weekday, usize)> {
        self.index_runs().into_iter().map(|(start, len)| (weekday_at(start), len)).collect()
    }

    fn index_runs(self) -> Vec<(usize, usize)> {
        // Runs as (first index, length), Monday first.
        let mut runs: Vec<(usize, usize)> = Vec::new();
        let mut index = 0;
        while index < 7 {
            if self.has_index(index) {
                let start = index;
                while index < 7 && self.has_index(index) {
                    index += 1;
                }
                runs.push((start, index - start));
            } else {
                index += 1;
            }
        }
        // One block wrapping over Sunday→Monday: "sun-thu" reads better than "mon-thu,sun".
        if let [(0, head), (tail_start, tail)] = runs[..]
            && tail_start + tail == 7
        {
            runs = vec![(tail_start, tail + head)];
        }
        runs
    }
}

/// The weekday at `index`, Monday being 0.
fn weekday_at(index: usize) -> Weekday {
    (0..index % 7).fold(Weekday::Mon, |day, _| day.succ())
}

impl FromStr for Days {
    type Err = ScheduleError;

    fn from_str(text: &str) -> Result<Days, ScheduleError> {
        Days::parse(text)
    }
}

impl fmt::Display for Days {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_canonical())
    }
}

/// Lowercases, drops all whitespace, and maps the Chinese/full-width list and range marks to
/// ',' and '-'.
fn normalize_days(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '，' | '、' => ',',
            '－' | '~' | '～' | '〜' | '至' | '到' | '–' | '—' => '-',
            other => other,
        })
        .flat_map(char::to_lowercase)
        .collect()
}

/// One list item: a word for a group of days, a range, or a single day.
fn parse_days_item(item: &str) -> Option<Days> {
    match item {
        "daily" | "everyday" | "每天" | "每日" => return Some(Days::EVERY_DAY),
        "weekdays" | "weekday" | "workdays" | "workday" | "工作日" => return Some(Days::WORKDAYS),
        "weekend" | "weekends" | "周末" => return Some(Days::WEEKEND),
        _ => {}
    }
    match item.split_once('-') {
        None => day_index(item).map(|index| Days(Days::bit(index))),
        Some((from, to)) => {
            let from = day_index(from)?;
            let to = day_index(to)?;
            let mut bits = 0u8;
            let mut index = from;
            loop {
                bits |= Days::bit(index);
                if index == to {
                    break;
                }
                index = (index + 1) % 7;
            }
            Some(Days(bits))
        }
    }
}

/// Monday-based index of one day name: English short or full, or Chinese 周/星期/礼拜 + 一…日/天.
fn day_index(name: &str) -> Option<usize> {
    let english = match name {
        "mon" | "monday" => Some(0),
        "tue" | "tues" | "tuesday" => Some(1),
        "wed" | "wednesday" => Some(2),
        "thu" | "thur" | "thurs" | "thursday" => Some(3),
        "fri" | "friday" => Some(4),
        "sat" | "saturday" => Some(5),
        "sun" | "sunday" => Some(6),
        _ => None,
    };
    if english.is_some() {
        return english;
    }
    let numeral = ["周", "星期", "礼拜"].iter().find_map(|prefix| name.strip_prefix(prefix))?;
    match numeral {
        "一" => Some(0),
        "二" => Some(1),
        "三" => Some(2),
        "四" => Some(3),
        "五" => Some(4),
        "六" => Some(5),
        "日" | "天" => Some(6),
        _ => None,
    }
}

/// A local time of day, "HH:MM" (00:00–23:59). Also accepts "8:30", "08：30" (full-width colon).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct LocalTime {
    pub hour: u32,
    pub minute: u32,
}

impl LocalTime {
    /// Accepts one or two hour digits and exactly two minute digits; full-width digits and
    /// colon count as ASCII, since Chinese input methods produce them.
    pub fn parse(text: &str) -> Result<LocalTime, ScheduleError> {
        let bad = || ScheduleError::BadTime(text.trim().to_owned());
        let normalized: String = text
            .trim()
            .chars()
            .map(|c| match c {
                '：' => ':',
                '０'..='９' => char::from_u32(u32::from(c) - u32::from('０') + u32::from('0')).unwrap_or(c),
                other => other,
            })
            .collect();
        let (hour, minute) = normalized.split_once(':').ok_or_else(bad)?;
        let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(hour) || hour.len() > 2 || !all_digits(minute) || minute.len() != 2 {
            return Err(bad());
        }
        let hour: u32 = hour.parse().map_err(|_| bad())?;
        let minute: u32 = minute.parse().map_err(|_| bad())?;
        let time = LocalTime { hour, minute };
        if time.is_valid() { Ok(time) } else { Err(bad()) }
    }

    pub(super) fn is_valid(self) -> bool {
        self.hour < 24 && self.minute < 60
    }

    /// The fields are public, so an out-of-range value is clamped (to 23 / 59) rather than
    /// panicking; values from [`LocalTime::parse`] and [`Schedule::new`] are always in range.
    pub fn to_naive(self) -> NaiveTime {
        NaiveTime::from_hms_opt(self.hour.min(23), self.minute.min(59), 0).unwrap_or(NaiveTime::MIN)
    }

    pub(super) fn minutes_of_day(self) -> u32 {
        self.hour * 60 + self.minute
    }
}

impl FromStr for LocalTime {
    type Err = ScheduleError;

    fn from_str(text: &str) -> Result<LocalTime, ScheduleError> {
        LocalTime::parse(text)
    }
}

impl fmt::Display for LocalTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.hour, self.minute)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ScheduleError {
    #[error("not a time of day: {0} (write HH:MM, e.g. 08:30)")]
    BadTime(String),
    #[error("unknown days: {0} (accepted: mon-fri, mon,wed,fri, 周一-周五, 周一,周三, 工作日, 每天, daily)")]
    BadDays(String),
    #[error("the deadline {deadline} must be later the same day than {at}")]
    DeadlineNotAfter { at: LocalTime, deadline: LocalTime },
}

#[cfg(test)]
mod tests {
    use super::*;
    use Weekday::{Fri, Mon, Sat, Sun, Thu, Tue, Wed};

    fn t(hour: u32, minute: u32) -> LocalTime {
        LocalTime { hour, minute }
    }

    fn days(list: &[Weekday]) -> Days {
        Days(list.iter().fold(0, |bits, w| bits | Days::bit(w.num_days_from_monday() as usize)))
    }

    #[test]
    fn days_accepts_every_documented_form() {
        let cases: &[(&str, Days)] = &[
            ("mon-fri", Days::WORKDAYS),
            ("MON-FRI", Days::WORKDAYS),
            ("  mon-fri  ", Days::WORKDAYS),
            ("mon - fri", Days::WORKDAYS),
            ("sat-sun", Days::WEEKEND),
            ("fri-mon", days(&[Fri, Sat, Sun, Mon])),
            ("sun-thu", days(&[Sun, Mon, Tue, Wed, Thu])),
            ("mon-mon", days(&[Mon])),
            ("周一-周五", Days::WORKDAYS),
            ("周六-周日", Days::WEEKEND),
            ("星期一-星期五", Days::WORKDAYS),
            ("星期一－星期五", Days::WORKDAYS),
            ("周一~周五", Days::WORKDAYS),
            ("周一～周五", Days::WORKDAYS),
            ("周一至周五", Days::WORKDAYS),
            ("周一到周五", Days::WORKDAYS),
            ("mon~fri", Days::WORKDAYS),
            ("mon,wed,fri", days(&[Mon, Wed, Fri])),
            ("mon, wed", days(&[Mon, Wed])),
            ("Monday,Wednesday", days(&[Mon, Wed])),
            ("周一,周三", days(&[Mon, Wed])),
            ("周一，周三", days(&[Mon, Wed])),
            ("周一、周三", days(&[Mon, Wed])),
            ("周一、 周三、周五", days(&[Mon, Wed, Fri])),
            ("mon-wed,fri", days(&[Mon, Tue, Wed, Fri])),
            ("工作日,周六", days(&[Mon, Tue, Wed, Thu, Fri, Sat])),
            ("daily", Days::EVERY_DAY),
            ("Daily", Days::EVERY_DAY),
            ("每天", Days::EVERY_DAY),
            ("everyday", Days::EVERY_DAY),
            ("every day", Days::EVERY_DAY),
            ("工作日", Days::WORKDAYS),
            ("weekdays", Days::WORKDAYS),
            ("周末", Days::WEEKEND),
            ("weekend", Days::WEEKEND),
            ("monday", days(&[Mon])),
            ("tuesday", days(&[Tue])),
            ("wednesday", days(&[Wed])),
            ("thursday", days(&[Thu])),
            ("friday", days(&[Fri])),
            ("saturday", days(&[Sat])),
            ("sunday", days(&[Sun])),
            ("mon", days(&[Mon])),
            ("tue", days(&[Tue])),
            ("wed", days(&[Wed])),
            ("thu", days(&[Thu])),
            ("fri", days(&[Fri])),
            ("sat", days(&[Sat])),
            ("sun", days(&[Sun])),
            ("周一", days(&[Mon])),
            ("周二", days(&[Tue])),
            ("周三", days(&[Wed])),
            ("周四", days(&[Thu])),
            ("周五", days(&[Fri])),
            ("周六", days(&[Sat])),
            ("周日", days(&[Sun])),
            ("周天", days(&[Sun])),
            ("星期日", days(&[Sun])),
            ("星期天", days(&[Sun])),
            ("星期三", days(&[Wed])),
            ("周五-周一", days(&[Fri, Sat, Sun, Mon])),
        ];
        for (text, expected) in cases {
            assert_eq!(Days::parse(text), Ok(*expected), "parsing {text:?}");
            assert_eq!(text.parse::<Days>(), Ok(*expected), "FromStr {text:?}");
        }
    }

    #[test]
    fn days_refuses_other_text() {
        for text in
            ["mon-", "-fri", "funday", "周八", "", "   ", "mon,,fri", "mon,", ",mon", "mon-wed-fri", "mon wed", "none"]
        {
            assert_eq!(Days::parse(text), Err(ScheduleError::BadDays(text.trim().to_owned())), "parsing {text:?}");
        }
        let message = Days::parse("funday").unwrap_err().to_string();
        assert!(
            message.contains("funday") && message.contains("mon-fri") && message.contains("周一-周五"),
            "{message}"
        );
    }

    #[test]
    fn days_canonical_form_round_trips() {
        let cases: &[(Days, &str)] = &[
            (Days::EVERY_DAY, "daily"),
            (Days::WORKDAYS, "mon-fri"),
            (Days::WEEKEND, "sat-sun"),
            (days(&[Mon, Wed, Fri]), "mon,wed,fri"),
            (days(&[Mon]), "mon"),
            (days(&[Sun]), "sun"),
            (days(&[Mon, Tue]), "mon-tue"),
            (days(&[Fri, Sat, Sun, Mon]), "fri-mon"),
            (days(&[Sun, Mon, Tue, Wed, Thu]), "sun-thu"),
            (days(&[Mon, Wed, Sat, Sun]), "mon,wed,sat-sun"),
            (days(&[Mon, Tue, Wed, Fri]), "mon-wed,fri"),
            (days(&[Mon, Tue, Wed, Thu, Fri, Sat]), "mon-sat"),
            (days(&[Tue, Wed, Thu, Fri, Sat, Sun]), "tue-sun"),
            (days(&[Mon, Tue, Thu, Fri, Sat, Sun]), "thu-tue"),
        ];
        for (set, canonical) in cases {
            assert_eq!(set.to_canonical(), *canonical);
            assert_eq!(set.to_string(), *canonical);
            assert_eq!(Days::parse(canonical), Ok(*set), "round trip of {canonical}");
        }
        // Every non-empty set survives storage.
        for bits in 1..=0b111_1111u8 {
            assert_eq!(Days::parse(&Days(bits).to_canonical()), Ok(Days(bits)));
        }
        assert_eq!(Days(0).to_canonical(), "none");
        assert!(Days(0).is_empty() && !Days::WEEKEND.is_empty());
        assert!(Days::WORKDAYS.contains(Fri) && !Days::WORKDAYS.contains(Sat));
    }

    #[test]
    fn local_time_parses_typed_forms() {
        assert_eq!(LocalTime::parse("08:30"), Ok(t(8, 30)));
        assert_eq!(LocalTime::parse("8:30"), Ok(t(8, 30)));
        assert_eq!(LocalTime::parse("08：30"), Ok(t(8, 30)));
        assert_eq!(LocalTime::parse("０８：３０"), Ok(t(8, 30)));
        assert_eq!(LocalTime::parse(" 23:59 "), Ok(t(23, 59)));
        assert_eq!(LocalTime::parse("00:00"), Ok(t(0, 0)));
        assert_eq!("9:05".parse::<LocalTime>(), Ok(t(9, 5)));
        for text in ["25:99", "24:00", "8", "8:60", "ab:cd", "", "8:5", "008:30", "08:30:00", "-1:30", "+8:30", "08:３"]
        {
            assert_eq!(LocalTime::parse(text), Err(ScheduleError::BadTime(text.trim().to_owned())), "parsing {text:?}");
        }
        assert_eq!(t(8, 5).to_string(), "08:05");
        assert_eq!(t(8, 30).to_naive(), NaiveTime::from_hms_opt(8, 30, 0).unwrap());
        assert_eq!(t(99, 99).to_naive(), NaiveTime::from_hms_opt(23, 59, 0).unwrap());
    }
}
