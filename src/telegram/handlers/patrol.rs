//! `/patrol` and its subcommands: show today's checklist, start it by hand, set the schedule
//! and the responsible person, edit the team's steps, and read the history.

use chrono::Duration;

pub use super::checklist::{answer_reply, severity_chosen, tick};
use super::usage;
use crate::db::{patrols, people};
use crate::domain::outbound::Outgoing;
use crate::domain::patrol::{StepText, parse_step_text};
use crate::domain::render::patrol::{self as render, HistoryDay};
use crate::domain::render::{date_text, days_text};
use crate::domain::schedule::{Days, LocalTime, Schedule, ScheduleError};
use crate::i18n::Arg;
use crate::jobs::{message_id, patrol};
use crate::t;
use crate::telegram::command::CommandName;
use crate::telegram::context::Request;

pub async fn command(request: &Request<'_>, args: &str) -> anyhow::Result<()> {
    let Some((team_id, team_name)) = request.place.team() else { return Ok(()) };
    let (verb, rest) = args.trim().split_once(char::is_whitespace).unwrap_or((args.trim(), ""));
    match verb.to_lowercase().as_str() {
        "" => show(request, team_id).await,
        "start" => start(request, team_id).await,
        "schedule" => set_schedule(request, team_id, &team_name, rest.trim()).await,
        "owner" => set_owner(request, team_id, rest.trim()).await,
        "steps" => list_steps(request, team_id).await,
        "step" => edit_step(request, team_id, rest.trim()).await,
        "history" => history(request, team_id, &team_name, rest.trim()).await,
        _ => {
            request.reply(&usage(request, CommandName::Patrol)).await?;
            Ok(())
        }
    }
}

/// Today's checklist again as a fresh message; the older copy becomes a pointer without
/// buttons (never deleted: bots cannot delete messages older than 48 hours).
async fn show(request: &Request<'_>, team_id: i64) -> anyhow::Result<()> {
    let (lang, i18n) = (request.lang, request.i18n());
    let date = patrol::today(request.floor, team_id).await?;
    let Some(today) = patrols::for_day(request.db(), team_id, date).await? else {
        request.reply(&t!(i18n, lang, "patrol-not-posted")).await?;
        return Ok(());
    };
    let old = message_id(today.message_id);
    let view = patrol::view(request.floor, today).await?;
    let text = render::checklist(i18n, lang, &view);
    let (main, _) = render::keyboards(i18n, lang, &view.items, &view.stores);
    let sent = request.floor.lane.send(request.chat_id(), Outgoing::new(text).with_keyboard(main).live()).await?;
    if let Some(new) = sent.last() {
        patrols::set_message(request.db(), view.patrol.id, new.message_id, false).await?;
        if let Some(old) = old {
            let pointer = t!(i18n, lang, "patrol-moved");
            // Through the live state, so a redraw still waiting for the old copy cannot land
            // after the pointer.
            request.floor.lane.refresh(request.chat_id(), old, &pointer, None, true).await?;
        }
    }
    Ok(())
}

async fn start(request: &Request<'_>, team_id: i64) -> anyhow::Result<()> {
    let date = patrol::today(request.floor, team_id).await?;
    if patrols::for_day(request.db(), team_id, date).await?.is_some() {
        request.reply(&t!(request.i18n(), request.lang, "patrol-already-posted")).await?;
        return Ok(());
    }
    let schedule = patrol::effective_schedule(request.floor, team_id).await?;
    patrol::post(request.floor, team_id, date, &schedule, false).await?;
    Ok(())
}

/// `HH:MM [days] [deadline HH:MM]`. The days may be written with spaces, as the bot shows
/// them ("Mon, Wed, Fri", "every day").
fn parse_schedule(words: &[&str], timezone: chrono_tz::Tz) -> Result<Schedule, ScheduleError> {
    let at = LocalTime::parse(words.first().copied().unwrap_or_default())?;
    let mut days_words: Vec<&str> = Vec::new();
    let mut deadline = None;
    let mut index = 1;
    while index < words.len() {
        let word = words[index].to_lowercase();
        if word == "deadline" || word == "截止" {
            deadline = Some(LocalTime::parse(words.get(index + 1).copied().unwrap_or_default())?);
            index += 2;
        } else {
            days_words.push(words[index]);
            index += 1;
        }
    }
    let days = if days_words.is_empty() { Days::EVERY_DAY } else { Days::parse(&days_words.join(" "))? };
    Schedule::new(at, days, deadline, timezone)
}

/// `/patrol schedule HH:MM [days] [deadline HH:MM]`.
async fn set_schedule(request: &Request<'_>, team_id: i64, team_name: &str, args: &str) -> anyhow::Result<()> {
    let (lang, i18n) = (request.lang, request.i18n());
    let words: Vec<&str> = args.split_whitespace().collect();
    if words.is_empty() {
        request.reply(&usage(request, CommandName::Patrol)).await?;
        return Ok(());
    }
    let schedule = match parse_schedule(&words, request.floor.config.timezone_for(team_name)) {
        Ok(schedule) => schedule,
        Err(error) => {
            let text = match error {
                ScheduleError::BadTime(given) => t!(i18n, lang, "patrol-bad-time", given = given),
                ScheduleError::BadDays(given) => t!(i18n, lang, "patrol-bad-days", given = given),
                ScheduleError::DeadlineNotAfter { at, deadline } => {
                    t!(i18n, lang, "patrol-bad-deadline", at = at.to_string(), deadline = deadline.to_string())
                }
            };
            request.reply(&text).await?;
            return Ok(());
        }
    };
    let now = request.now();
    let (at, deadline) = (schedule.at.to_string(), schedule.deadline.to_string());
    // Stored in the canonical form; shown in words.
    let stored_days = schedule.days.to_canonical();
    patrols::set_schedule(request.db(), team_id, &at, &stored_days, &deadline, now).await?;
    patrol::plan_next(request.floor, team_id, now).await?;
    let next = schedule.next_start_after(now).map(|(date, _)| date_text(i18n, lang, date)).unwrap_or_default();
    let days = days_text(i18n, lang, schedule.days);
    let text = t!(i18n, lang, "patrol-schedule-set", at = at, days = days, deadline = deadline, next = next);
    request.reply(&text).await?;
    Ok(())
}

/// `/patrol owner @x|rotation`.
async fn set_owner(request: &Request<'_>, team_id: i64, args: &str) -> anyhow::Result<()> {
    let (lang, i18n) = (request.lang, request.i18n());
    let owner = if args.eq_ignore_ascii_case("rotation") || args == "轮值" {
        None
    } else if let Some(username) = args.strip_prefix('@').filter(|name| !name.is_empty()) {
        match people::person_by_username(request.db(), username).await? {
            Some(person) => Some(person),
            None => {
                request.reply(&t!(i18n, lang, "role-unknown-person", who = format!("@{username}"))).await?;
                return Ok(());
            }
        }
    } else {
        request.reply(&usage(request, CommandName::Patrol)).await?;
        return Ok(());
    };
    patrols::set_owner(request.db(), team_id, owner.as_ref().map(|person| person.user_id), request.now()).await?;
    let text = match owner {
        Some(person) => t!(i18n, lang, "patrol-owner-set", person = Arg::Html(person.name_html())),
        None => t!(i18n, lang, "patrol-owner-rotation"),
    };
    request.reply(&text).await?;
    Ok(())
}

async fn list_steps(request: &Request<'_>, team_id: i64) -> anyhow::Result<()> {
    let (lang, i18n) = (request.lang, request.i18n());
    let steps = patrol::steps(request.floor, team_id, lang).await?;
    let mut text = t!(i18n, lang, "patrol-steps-header", count = steps.len());
    for (index, step) in steps.iter().enumerate() {
        text.push('\n');
        text.push_str(&t!(
            i18n,
            lang,
            "patrol-steps-line",
            number = index + 1,
            title = step.title.as_str(),
            check = step.check.as_str(),
            fix = step.fix.as_str()
        ));
    }
    request.reply(&text).await?;
    Ok(())
}

/// `/patrol step add|rm|edit`. The first change copies the default steps into the team's own
/// list, so the team keeps everything it did not change.
async fn edit_step(request: &Request<'_>, team_id: i64, args: &str) -> anyhow::Result<()> {
    let (lang, i18n) = (request.lang, request.i18n());
    let mut current: Vec<StepText> = patrol::steps(request.floor, team_id, lang).await?;
    let (verb, rest) = args.split_once(char::is_whitespace).unwrap_or((args, ""));
    let rest = rest.trim();
    let count = current.len();
    let number = |text: &str| text.parse::<usize>().ok().filter(|n| (1..=count).contains(n));
    // The answer, and whether the list changed and must be stored.
    let (text, changed) = match verb.to_lowercase().as_str() {
        "add" => match parse_step_text(rest) {
            Some(step) => {
                let title = step.title.clone();
                current.push(step);
                (t!(i18n, lang, "patrol-step-added", number = current.len(), title = title), true)
            }
            None => (usage(request, CommandName::Patrol), false),
        },
        "rm" | "remove" => match number(rest) {
            Some(n) => {
                let removed = current.remove(n - 1);
                (t!(i18n, lang, "patrol-step-removed", number = n, title = removed.title), true)
            }
            None => (t!(i18n, lang, "patrol-step-unknown", given = rest, count = count), false),
        },
        "edit" => {
            let (number_text, step_text) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            match (number(number_text), parse_step_text(step_text)) {
                (Some(n), Some(mut step)) => {
                    step.kind = current[n - 1].kind;
                    let title = step.title.clone();
                    current[n - 1] = step;
                    (t!(i18n, lang, "patrol-step-edited", number = n, title = title), true)
                }
                (None, _) => (t!(i18n, lang, "patrol-step-unknown", given = number_text, count = count), false),
                (Some(_), None) => (usage(request, CommandName::Patrol), false),
            }
        }
        _ => (usage(request, CommandName::Patrol), false),
    };
    if changed {
        patrols::replace_steps(request.db(), team_id, &current).await?;
    }
    request.reply(&text).await?;
    Ok(())
}

/// `/patrol history [N days]`: per day, whether and when it was done, by whom, lateness and
/// issues per step; then which checks found problems most often.
async fn history(request: &Request<'_>, team_id: i64, team_name: &str, args: &str) -> anyhow::Result<()> {
    let (lang, i18n) = (request.lang, request.i18n());
    let days: i64 = if args.is_empty() {
        7
    } else {
        match args.trim_end_matches(['d', '天']).trim().parse::<i64>() {
            Ok(days) if (1..=90).contains(&days) => days,
            _ => {
                request.reply(&t!(i18n, lang, "patrol-history-days", given = args)).await?;
                return Ok(());
            }
        }
    };
    let today = patrol::today(request.floor, team_id).await?;
    let mut history = Vec::new();
    for offset in (0..days).rev() {
        let date = today - Duration::days(offset);
        let Some(day) = patrols::for_day(request.db(), team_id, date).await? else { continue };
        let items = patrols::items(request.db(), day.id).await?;
        let completed_by = match day.completed_by {
            Some(id) => people::person(request.db(), id).await?,
            None => None,
        };
        history.push(HistoryDay { patrol: day, items, completed_by });
    }
    let timezone = request.floor.config.timezone_for(team_name);
    request.reply(&render::history(i18n, lang, days, &history, timezone)).await?;
    Ok(())
}
