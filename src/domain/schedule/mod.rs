//! The patrol schedule's pure rules: parsing the days and times people type, and computing
//! when a team's daily patrol (日常巡店) starts, is reminded and is due, in the team's own time
//! zone and across DST changes.
//!
//! Nothing here reads the clock or touches storage: every instant is passed in, so the same
//! rules serve the live scheduler, catch-up after downtime and tests alike. Local times are
//! resolved with one rule everywhere: a time inside a spring-forward gap becomes the first
//! valid local minute after it, and a time that occurs twice at fall-back becomes the earlier
//! instant, so a patrol fires exactly once per patrol day.

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

mod days;

pub use self::days::{Days, LocalTime, ScheduleError};

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
        Some(reminder_between(self.start_on(date)?, self.deadline_on(date)?))
    }
}

/// The reminder of a patrol running from `start` to `deadline`: 15 minutes before the
/// deadline, but not before the start. One rule for scheduled and hand-started patrols.
pub fn reminder_between(start: DateTime<Utc>, deadline: DateTime<Utc>) -> DateTime<Utc> {
    (deadline - REMINDER_LEAD).max(start)
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
    use chrono::NaiveTime;
    use chrono_tz::Asia::Shanghai;
    use chrono_tz::Europe::Berlin;

    use super::*;

    fn t(hour: u32, minute: u32) -> LocalTime {
        LocalTime { hour, minute }
    }

    fn d(year: i32, month: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(year, month, day).unwrap()
    }

    fn utc(year: i32, month: u32, day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(year, month, day, hour, minute, 0).unwrap()
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
        let schedule = Schedule { days: Days::NONE, ..Schedule::default_in(Shanghai) };
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
