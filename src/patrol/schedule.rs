//! The patrol schedule's pure rules: parsing the days and times people type, and computing
//! when a team's daily patrol (日常巡店) starts, is reminded and is due, in the team's own time
//! zone and across DST changes.
//!
//! Nothing here reads the clock or touches storage: every instant is passed in, so the same
//! rules serve the live scheduler, catch-up after downtime and tests alike. Local times are
//! resolved with one rule everywhere: a time inside a spring-forward gap becomes the first
//! valid local minute after it, and a time that occurs twice at fall-back becomes the earlier
//! instant, so a patrol fires exactly once per patrol day.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
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
        let parts: Vec<String> = runs
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

    fn is_valid(self) -> bool {
        self.hour < 24 && self.minute < 60
    }

    /// The fields are public, so an out-of-range value is clamped (to 23 / 59) rather than
    /// panicking; values from [`LocalTime::parse`] and [`Schedule::new`] are always in range.
    pub fn to_naive(self) -> NaiveTime {
        NaiveTime::from_hms_opt(self.hour.min(23), self.minute.min(59), 0).unwrap_or(NaiveTime::MIN)
    }

    fn minutes_of_day(self) -> u32 {
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

/// A team's patrol schedule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
    pub at: LocalTime,
    pub days: Days,
    pub deadline: LocalTime,
    pub timezone: Tz,
}

/// How long before the deadline the reminder goes out.
const REMINDER_LEAD: Duration = Duration::minutes(15);
/// Deadline when none is given: this long after the start…
const DEFAULT_WINDOW_MINUTES: u32 = 60;
/// …but never past the end of the patrol's own day.
const LAST_MINUTE: LocalTime = LocalTime { hour: 23, minute: 59 };

impl Schedule {
    /// Checks that both times are in range and that the deadline is later the same day than the
    /// start. When no deadline is given it defaults to `at` + 60 minutes, or 23:59 if that would
    /// pass midnight, because a patrol belongs to one local day (so `at` = 23:59 with no
    /// deadline is refused: nothing later that day is left).
    pub fn new(
        at: LocalTime,
        days: Days,
        deadline: Option<LocalTime>,
        timezone: Tz,
    ) -> Result<Schedule, ScheduleError> {
        for time in [Some(at), deadline].into_iter().flatten() {
            if !time.is_valid() {
                return Err(ScheduleError::BadTime(format!("{:02}:{:02}", time.hour, time.minute)));
            }
        }
        let deadline = deadline.unwrap_or_else(|| {
            let minutes = at.minutes_of_day() + DEFAULT_WINDOW_MINUTES;
            if minutes >= 24 * 60 { LAST_MINUTE } else { LocalTime { hour: minutes / 60, minute: minutes % 60 } }
        });
        if deadline <= at {
            return Err(ScheduleError::DeadlineNotAfter { at, deadline });
        }
        Ok(Schedule { at, days, deadline, timezone })
    }

    /// The default: 08:30 daily, deadline 09:30.
    pub fn default_in(timezone: Tz) -> Schedule {
        Schedule {
            at: LocalTime { hour: 8, minute: 30 },
            days: Days::EVERY_DAY,
            deadline: LocalTime { hour: 9, minute: 30 },
            timezone,
        }
    }

    /// The UTC instant the patrol of local date `date` starts, if `date` is a patrol day.
    ///
    /// DST: a local time that does not exist that day (spring-forward gap) resolves to the
    /// first valid local minute after it; a local time that occurs twice (fall-back) resolves
    /// to the earlier of the two instants, so the patrol fires once.
    pub fn start_on(&self, date: NaiveDate) -> Option<DateTime<Utc>> {
        if !self.days.contains(date.weekday()) {
            return None;
        }
        resolve_local(self.timezone, date.and_time(self.at.to_naive()))
    }

    /// The deadline of the patrol of `date`, resolved by the same rule as [`Schedule::start_on`].
    ///
    /// If the start and the deadline both fall in the same spring-forward gap they would
    /// resolve to the same instant and leave no time to do the patrol; then the deadline is
    /// the start plus the configured window instead, so it is always strictly after the start.
    pub fn deadline_on(&self, date: NaiveDate) -> Option<DateTime<Utc>> {
        let start = self.start_on(date)?;
        let deadline = resolve_local(self.timezone, date.and_time(self.deadline.to_naive()))?;
        if deadline > start {
            Some(deadline)
        } else {
            let window = i64::from(self.deadline.minutes_of_day()) - i64::from(self.at.minutes_of_day());
            Some(start + Duration::minutes(window.max(1)))
        }
    }

    /// The first patrol start strictly after `after`, with the local date the patrol is for.
    ///
    /// Scans from the local day before `after` (a resolved start can spill past its own date in
    /// a gap at midnight) to eight days ahead, which always contains a patrol day unless `days`
    /// is empty. Because a repeated fall-back time resolves to one instant, iterating this from
    /// its own result yields each patrol exactly once.
    pub fn next_start_after(&self, after: DateTime<Utc>) -> Option<(NaiveDate, DateTime<Utc>)> {
        let today = self.local_date(after);
        let first = today.pred_opt().unwrap_or(today);
        let last = today.checked_add_signed(Duration::days(8)).unwrap_or(NaiveDate::MAX);
        first
            .iter_days()
            .take_while(|date| *date <= last)
            .filter_map(|date| self.start_on(date).map(|start| (date, start)))
            .filter(|&(_, start)| start > after)
            .min_by_key(|&(_, start)| start)
    }

    /// The local date of an instant in this schedule's zone.
    pub fn local_date(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.timezone).date_naive()
    }

    /// Whether a patrol for `date` that has not been posted should still be posted at `now`
    /// (the bot was down at the start time): true when `date` is a patrol day and
    /// start <= now < deadline. Once the deadline has passed, posting it would only produce a
    /// checklist nobody can complete on time.
    pub fn due_but_not_late(&self, date: NaiveDate, now: DateTime<Utc>) -> bool {
        match (self.start_on(date), self.deadline_on(date)) {
            (Some(start), Some(deadline)) => start <= now && now < deadline,
            _ => false,
        }
    }

    /// The reminder instant: 15 minutes before the deadline, but not before the start (a short
    /// window is reminded at the start rather than before the checklist exists).
    pub fn reminder_on(&self, date: NaiveDate) -> Option<DateTime<Utc>> {
        let start = self.start_on(date)?;
        let deadline = self.deadline_on(date)?;
        Some((deadline - REMINDER_LEAD).max(start))
    }
}

/// Resolves a wall-clock time in `zone` to one UTC instant: the earlier instant when the time
/// occurs twice, the first valid minute after it when it does not occur at all.
fn resolve_local(zone: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    // Two days of minutes covers every gap in the tz database, including a skipped date.
    let mut candidate = local;
    for _ in 0..=2 * 24 * 60 {
        match zone.from_local_datetime(&candidate) {
            LocalResult::Single(instant) => return Some(instant.with_timezone(&Utc)),
            LocalResult::Ambiguous(first, second) => {
                return Some(first.with_timezone(&Utc).min(second.with_timezone(&Utc)));
            }
            LocalResult::None => candidate += Duration::minutes(1),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use Weekday::{Fri, Mon, Sat, Sun, Thu, Tue, Wed};
    use chrono_tz::Asia::Shanghai;
    use chrono_tz::Europe::Berlin;

    fn t(hour: u32, minute: u32) -> LocalTime {
        LocalTime { hour, minute }
    }

    fn d(year: i32, month: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(year, month, day).unwrap()
    }

    fn utc(year: i32, month: u32, day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(year, month, day, hour, minute, 0).unwrap()
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

    #[test]
    fn deadline_must_be_after_start() {
        assert_eq!(
            Schedule::new(t(9, 0), Days::EVERY_DAY, Some(t(8, 0)), Shanghai),
            Err(ScheduleError::DeadlineNotAfter { at: t(9, 0), deadline: t(8, 0) })
        );
        assert_eq!(
            Schedule::new(t(9, 0), Days::EVERY_DAY, Some(t(9, 0)), Shanghai),
            Err(ScheduleError::DeadlineNotAfter { at: t(9, 0), deadline: t(9, 0) })
        );
        let error = Schedule::new(t(9, 0), Days::EVERY_DAY, Some(t(8, 0)), Shanghai).unwrap_err();
        assert_eq!(error.to_string(), "the deadline 08:00 must be later the same day than 09:00");
        assert!(Schedule::new(t(9, 0), Days::EVERY_DAY, Some(t(9, 1)), Shanghai).is_ok());
        assert_eq!(
            Schedule::new(t(24, 0), Days::EVERY_DAY, None, Shanghai),
            Err(ScheduleError::BadTime("24:00".to_owned()))
        );
    }

    #[test]
    fn default_deadline_is_an_hour_later_within_the_day() {
        let deadline = |at| Schedule::new(at, Days::EVERY_DAY, None, Shanghai).map(|s| s.deadline);
        assert_eq!(deadline(t(8, 30)), Ok(t(9, 30)));
        assert_eq!(deadline(t(22, 59)), Ok(t(23, 59)));
        assert_eq!(deadline(t(23, 0)), Ok(t(23, 59)));
        assert_eq!(deadline(t(23, 10)), Ok(t(23, 59)));
        assert_eq!(deadline(t(23, 59)), Err(ScheduleError::DeadlineNotAfter { at: t(23, 59), deadline: t(23, 59) }));
        let default = Schedule::default_in(Shanghai);
        assert_eq!(default, Schedule::new(t(8, 30), Days::EVERY_DAY, None, Shanghai).unwrap());
        assert_eq!(default.days.to_canonical(), "daily");
    }

    fn shanghai_workdays() -> Schedule {
        Schedule::new(t(8, 30), Days::WORKDAYS, None, Shanghai).unwrap()
    }

    #[test]
    fn shanghai_morning_is_utc_small_hours() {
        let schedule = shanghai_workdays();
        // 2026-06-01 is a Monday.
        assert_eq!(schedule.start_on(d(2026, 6, 1)), Some(utc(2026, 6, 1, 0, 30)));
        assert_eq!(schedule.deadline_on(d(2026, 6, 1)), Some(utc(2026, 6, 1, 1, 30)));
        assert_eq!(schedule.start_on(d(2026, 6, 6)), None);
        assert_eq!(schedule.deadline_on(d(2026, 6, 7)), None);
        // 16:00 UTC on Sunday is already Monday in Shanghai.
        assert_eq!(schedule.local_date(utc(2026, 6, 7, 15, 59)), d(2026, 6, 7));
        assert_eq!(schedule.local_date(utc(2026, 6, 7, 16, 0)), d(2026, 6, 8));
    }

    #[test]
    fn shanghai_next_start_skips_the_weekend() {
        let schedule = shanghai_workdays();
        let cases = [
            // Just before, exactly at and just after Monday's start.
            (utc(2026, 6, 1, 0, 29), d(2026, 6, 1)),
            (utc(2026, 6, 1, 0, 30), d(2026, 6, 2)),
            (utc(2026, 6, 1, 0, 31), d(2026, 6, 2)),
            // Thursday evening UTC is Friday morning in Shanghai, before the start.
            (utc(2026, 6, 4, 23, 0), d(2026, 6, 5)),
            (utc(2026, 6, 5, 0, 29), d(2026, 6, 5)),
            // From Friday's start on, the next one is Monday.
            (utc(2026, 6, 5, 0, 30), d(2026, 6, 8)),
            (utc(2026, 6, 5, 12, 0), d(2026, 6, 8)),
            (utc(2026, 6, 6, 0, 30), d(2026, 6, 8)),
            (utc(2026, 6, 7, 16, 0), d(2026, 6, 8)),
            (utc(2026, 6, 8, 0, 29), d(2026, 6, 8)),
            (utc(2026, 6, 8, 0, 30), d(2026, 6, 9)),
        ];
        for (after, date) in cases {
            let expected = Some((date, Utc.from_utc_datetime(&date.and_hms_opt(0, 30, 0).unwrap())));
            assert_eq!(schedule.next_start_after(after), expected, "after {after}");
        }
        let mut after = utc(2026, 5, 31, 0, 0);
        let mut dates = Vec::new();
        for _ in 0..10 {
            let (date, start) = schedule.next_start_after(after).unwrap();
            assert!(start > after);
            dates.push(date.day());
            after = start;
        }
        assert_eq!(dates, [1, 2, 3, 4, 5, 8, 9, 10, 11, 12]);
    }

    #[test]
    fn empty_days_never_start() {
        let schedule = Schedule { days: Days(0), ..Schedule::default_in(Shanghai) };
        assert_eq!(schedule.next_start_after(utc(2026, 6, 1, 0, 0)), None);
        assert_eq!(schedule.start_on(d(2026, 6, 1)), None);
        assert!(!schedule.due_but_not_late(d(2026, 6, 1), utc(2026, 6, 1, 0, 45)));
    }

    fn berlin(at: LocalTime, deadline: Option<LocalTime>) -> Schedule {
        Schedule::new(at, Days::EVERY_DAY, deadline, Berlin).unwrap()
    }

    #[test]
    fn berlin_spring_gap_fires_at_the_first_valid_minute() {
        let schedule = berlin(t(2, 30), None);
        let start = schedule.start_on(d(2026, 3, 29)).unwrap();
        assert_eq!(start, utc(2026, 3, 29, 1, 0));
        assert_eq!(start.with_timezone(&Berlin).time(), NaiveTime::from_hms_opt(3, 0, 0).unwrap());
        // 03:30 exists (summer time) and keeps its wall-clock meaning.
        assert_eq!(schedule.deadline_on(d(2026, 3, 29)), Some(utc(2026, 3, 29, 1, 30)));
        assert_eq!(schedule.start_on(d(2026, 3, 28)), Some(utc(2026, 3, 28, 1, 30)));
        assert_eq!(schedule.start_on(d(2026, 3, 30)), Some(utc(2026, 3, 30, 0, 30)));
    }

    #[test]
    fn berlin_deadline_inside_the_same_gap_keeps_the_window() {
        let schedule = berlin(t(2, 10), Some(t(2, 40)));
        assert_eq!(schedule.start_on(d(2026, 3, 29)), Some(utc(2026, 3, 29, 1, 0)));
        assert_eq!(schedule.deadline_on(d(2026, 3, 29)), Some(utc(2026, 3, 29, 1, 30)));
        assert_eq!(schedule.reminder_on(d(2026, 3, 29)), Some(utc(2026, 3, 29, 1, 15)));
    }

    #[test]
    fn berlin_fall_back_fires_once_at_the_earlier_instant() {
        let schedule = berlin(t(2, 30), None);
        assert_eq!(schedule.start_on(d(2026, 10, 25)), Some(utc(2026, 10, 25, 0, 30)));
        // 03:30 after the change is winter time.
        assert_eq!(schedule.deadline_on(d(2026, 10, 25)), Some(utc(2026, 10, 25, 2, 30)));
        // Between the two 02:30s: the repeat is not a second patrol.
        assert_eq!(
            schedule.next_start_after(utc(2026, 10, 25, 0, 30)),
            Some((d(2026, 10, 26), utc(2026, 10, 26, 1, 30)))
        );
        assert_eq!(
            schedule.next_start_after(utc(2026, 10, 25, 1, 0)),
            Some((d(2026, 10, 26), utc(2026, 10, 26, 1, 30)))
        );
        assert_eq!(
            schedule.next_start_after(utc(2026, 10, 25, 0, 29)),
            Some((d(2026, 10, 25), utc(2026, 10, 25, 0, 30)))
        );
    }

    #[test]
    fn berlin_normal_morning_keeps_its_wall_clock_time() {
        let schedule = berlin(t(8, 30), None);
        assert_eq!(schedule.start_on(d(2026, 3, 28)), Some(utc(2026, 3, 28, 7, 30)));
        assert_eq!(schedule.start_on(d(2026, 3, 29)), Some(utc(2026, 3, 29, 6, 30)));
        assert_eq!(schedule.start_on(d(2026, 10, 24)), Some(utc(2026, 10, 24, 6, 30)));
        assert_eq!(schedule.start_on(d(2026, 10, 25)), Some(utc(2026, 10, 25, 7, 30)));
        for date in [d(2026, 3, 28), d(2026, 3, 29), d(2026, 10, 24), d(2026, 10, 25)] {
            let local = schedule.start_on(date).unwrap().with_timezone(&Berlin);
            assert_eq!((local.date_naive(), local.time()), (date, NaiveTime::from_hms_opt(8, 30, 0).unwrap()));
        }
    }

    #[test]
    fn berlin_iteration_yields_one_start_per_day_across_both_changes() {
        for at in [t(2, 30), t(8, 30), t(0, 0), t(23, 59)] {
            let schedule = Schedule { at, days: Days::EVERY_DAY, deadline: LAST_MINUTE, timezone: Berlin };
            for first_day in [d(2026, 3, 25), d(2026, 10, 21)] {
                let midnight = Berlin.from_local_datetime(&first_day.and_hms_opt(0, 0, 0).unwrap()).single().unwrap();
                let mut after = midnight.with_timezone(&Utc) - Duration::minutes(1);
                let mut expected_date = first_day;
                for _ in 0..10 {
                    let (date, start) = schedule.next_start_after(after).unwrap();
                    assert!(start > after, "{at} from {after}: {start} is not later");
                    assert_eq!(date, expected_date, "{at} from {after}");
                    assert_eq!(Some(start), schedule.start_on(date));
                    expected_date = expected_date.succ_opt().unwrap();
                    after = start;
                }
            }
        }
    }

    #[test]
    fn due_but_not_late_covers_start_to_deadline() {
        let schedule = shanghai_workdays();
        let monday = d(2026, 6, 1);
        assert!(!schedule.due_but_not_late(monday, utc(2026, 6, 1, 0, 29)));
        assert!(schedule.due_but_not_late(monday, utc(2026, 6, 1, 0, 30)));
        assert!(schedule.due_but_not_late(monday, utc(2026, 6, 1, 1, 29)));
        assert!(!schedule.due_but_not_late(monday, utc(2026, 6, 1, 1, 30)));
        assert!(!schedule.due_but_not_late(monday, utc(2026, 6, 2, 0, 45)));
        // Saturday is not a patrol day.
        assert!(!schedule.due_but_not_late(d(2026, 6, 6), utc(2026, 6, 6, 0, 45)));
    }

    #[test]
    fn reminder_is_fifteen_minutes_before_the_deadline_but_not_before_the_start() {
        let schedule = shanghai_workdays();
        assert_eq!(schedule.reminder_on(d(2026, 6, 1)), Some(utc(2026, 6, 1, 1, 15)));
        assert_eq!(schedule.reminder_on(d(2026, 6, 6)), None);
        let short = Schedule::new(t(8, 30), Days::WORKDAYS, Some(t(8, 40)), Shanghai).unwrap();
        assert_eq!(short.reminder_on(d(2026, 6, 1)), Some(utc(2026, 6, 1, 0, 30)));
        let exact = Schedule::new(t(8, 30), Days::WORKDAYS, Some(t(8, 45)), Shanghai).unwrap();
        assert_eq!(exact.reminder_on(d(2026, 6, 1)), Some(utc(2026, 6, 1, 0, 30)));
    }
}
