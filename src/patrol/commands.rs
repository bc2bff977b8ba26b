//! `/patrol` and its subcommands: show today's checklist, start it by hand, set the schedule
//! and the responsible person, edit the team's steps, and read the history.

use chrono::{Duration, NaiveDate};

use super::schedule::{Days, LocalTime, Schedule};
use super::{StepText, effective_schedule, for_day, items, plan_next, post, steps, today};
use crate::i18n::Arg;
use crate::t;
use crate::team::{self, Role};
use crate::telegram::Request;
use crate::telegram::lane::SendOptions;

/// The subcommands that change things, and so need a lead or a supervisor.
pub fn needs_lead(args: &str) -> bool {
    let first = args.split_whitespace().next().unwrap_or_default().to_lowercase();
    matches!(first.as_str(), "start" | "schedule" | "owner" | "step")
}

fn usage(request: &Request<'_>) -> String {
    let usage =
        crate::telegram::help::usage(request.i18n(), request.lang, crate::telegram::command::CommandName::Patrol);
    t!(request.i18n(), request.lang, "usage", usage = Arg::Html(usage))
}

pub async fn command(request: &Request<'_>, args: &str) -> anyhow::Result<()> {
    let Some((team_id, team_name)) = request.place.team() else { return Ok(()) };
    let (verb, rest) = args.trim().split_once(char::is_whitespace).unwrap_or((args.trim(), ""));
    match verb.to_lowercase().as_str() {
        "" => show(request, team_id, &team_name).await,
        "start" => start(request, team_id, &team_name).await,
        "schedule" => set_schedule(request, team_id, &team_name, rest.trim()).await,
        "owner" => set_owner(request, team_id, rest.trim()).await,
        "steps" => list_steps(request, team_id).await,
        "step" => edit_step(request, team_id, rest.trim()).await,
        "history" => history(request, team_id, &team_name, rest.trim()).await,
        _ => {
            request.reply(&usage(request)).await?;
            Ok(())
        }
    }
}

/// Today's checklist again as a fresh message; the older copy becomes a pointer without
/// buttons (never deleted: bots cannot delete messages older than 48 hours).
async fn show(request: &Request<'_>, team_id: i64, team_name: &str) -> anyhow::Result<()> {
    let (lang, i18n) = (request.lang, request.i18n());
    let date = today(request.floor, team_id, team_name).await?;
    let Some(patrol) = for_day(request.db(), team_id, date).await? else {
        request.reply(&t!(i18n, lang, "patrol-not-posted")).await?;
        return Ok(());
    };
    let items = items(request.db(), patrol.id).await?;
    let text = super::render(request.floor, lang, &patrol, &items).await?;
    let (main, _) = super::keyboards(i18n, lang, &items);
    let sent = request
        .floor
        .lane
        .send(request.chat_id(), &text, SendOptions { keyboard: main, live: true, ..SendOptions::default() })
        .await?;
    if let Some(new) = sent.last() {
        sqlx::query("UPDATE patrols SET message_id = ? WHERE id = ?")
            .bind(new.message_id)
            .bind(patrol.id)
            .execute(request.db())
            .await?;
        if let Some(old) = patrol.message_id.and_then(|id| i32::try_from(id).ok()) {
            let pointer = t!(i18n, lang, "patrol-moved");
            // Through the live state, so a redraw still waiting for the old copy cannot land
            // after the pointer.
            request.floor.lane.refresh(request.chat_id(), old, &pointer, None, true).await?;
        }
    }
    Ok(())
}

async fn start(request: &Request<'_>, team_id: i64, team_name: &str) -> anyhow::Result<()> {
    let date = today(request.floor, team_id, team_name).await?;
    if for_day(request.db(), team_id, date).await?.is_some() {
        request.reply(&t!(request.i18n(), request.lang, "patrol-already-posted")).await?;
        return Ok(());
    }
    let schedule = effective_schedule(request.floor, team_id, team_name).await?;
    post(request.floor, team_id, date, &schedule, false).await?;
    Ok(())
}

/// `/patrol schedule HH:MM [days] [deadline HH:MM]`.
async fn set_schedule(request: &Request<'_>, team_id: i64, team_name: &str, args: &str) -> anyhow::Result<()> {
    let (lang, i18n) = (request.lang, request.i18n());
    let words: Vec<&str> = args.split_whitespace().collect();
    let Some(at_text) = words.first() else {
        request.reply(&usage(request)).await?;
        return Ok(());
    };
    let parsed = (|| {
        let at = LocalTime::parse(at_text)?;
        let mut days = Days::EVERY_DAY;
        let mut deadline = None;
        let mut index = 1;
        while index < words.len() {
            let word = words[index].to_lowercase();
            if word == "deadline" || word == "截止" {
                let text = words.get(index + 1).copied().unwrap_or_default();
                deadline = Some(LocalTime::parse(text)?);
                index += 2;
            } else {
                days = Days::parse(words[index])?;
                index += 1;
            }
        }
        Schedule::new(at, days, deadline, request.floor.config.timezone_for(team_name))
    })();
    let schedule = match parsed {
        Ok(schedule) => schedule,
        Err(error) => {
            let text = match error {
                super::schedule::ScheduleError::BadTime(given) => t!(i18n, lang, "patrol-bad-time", given = given),
                super::schedule::ScheduleError::BadDays(given) => t!(i18n, lang, "patrol-bad-days", given = given),
                super::schedule::ScheduleError::DeadlineNotAfter { at, deadline } => {
                    t!(i18n, lang, "patrol-bad-deadline", at = at.to_string(), deadline = deadline.to_string())
                }
            };
            request.reply(&text).await?;
            return Ok(());
        }
    };
    let now = request.now();
    sqlx::query(
        "INSERT INTO patrol_settings (team_id, at, days, deadline, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (team_id) DO UPDATE SET at = excluded.at, days = excluded.days, deadline = excluded.deadline,
             updated_at = excluded.updated_at",
    )
    .bind(team_id)
    .bind(schedule.at.to_string())
    .bind(schedule.days.to_canonical())
    .bind(schedule.deadline.to_string())
    .bind(now)
    .execute(request.db())
    .await?;
    plan_next(request.floor, team_id, now).await?;
    let next = schedule.next_start_after(now).map(|(date, _)| date.format("%m-%d").to_string()).unwrap_or_default();
    let text = t!(
        i18n,
        lang,
        "patrol-schedule-set",
        at = schedule.at.to_string(),
        days = schedule.days.to_canonical(),
        deadline = schedule.deadline.to_string(),
        next = next
    );
    request.reply(&text).await?;
    Ok(())
}

/// `/patrol owner @x|rotation`.
async fn set_owner(request: &Request<'_>, team_id: i64, args: &str) -> anyhow::Result<()> {
    let (lang, i18n) = (request.lang, request.i18n());
    let owner = if args.eq_ignore_ascii_case("rotation") || args == "轮值" {
        None
    } else if let Some(username) = args.strip_prefix('@').filter(|name| !name.is_empty()) {
        match team::person_by_username(request.db(), username).await? {
            Some(person) => Some(person),
            None => {
                request.reply(&t!(i18n, lang, "role-unknown-person", who = format!("@{username}"))).await?;
                return Ok(());
            }
        }
    } else {
        request.reply(&usage(request)).await?;
        return Ok(());
    };
    sqlx::query(
        "INSERT INTO patrol_settings (team_id, owner_id, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (team_id) DO UPDATE SET owner_id = excluded.owner_id, updated_at = excluded.updated_at",
    )
    .bind(team_id)
    .bind(owner.as_ref().map(|person| person.user_id))
    .bind(request.now())
    .execute(request.db())
    .await?;
    let text = match owner {
        Some(person) => t!(i18n, lang, "patrol-owner-set", person = Arg::Html(person.name_html())),
        None => t!(i18n, lang, "patrol-owner-rotation"),
    };
    request.reply(&text).await?;
    Ok(())
}

async fn list_steps(request: &Request<'_>, team_id: i64) -> anyhow::Result<()> {
    let (lang, i18n) = (request.lang, request.i18n());
    let steps = steps(request.floor, team_id, lang).await?;
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

/// `title | what to check | what to do`.
fn parse_step_text(text: &str) -> Option<StepText> {
    let mut parts = text.split(['|', '｜']).map(str::trim);
    let title = parts.next().filter(|title| !title.is_empty())?;
    if title.chars().count() > 60 {
        return None;
    }
    Some(StepText {
        kind: "check".to_owned(),
        title: title.to_owned(),
        check: parts.next().unwrap_or_default().to_owned(),
        fix: parts.next().unwrap_or_default().to_owned(),
    })
}

/// `/patrol step add|rm|edit`. The first change copies the default steps into the team's own
/// list, so the team keeps everything it did not change.
async fn edit_step(request: &Request<'_>, team_id: i64, args: &str) -> anyhow::Result<()> {
    let (lang, i18n) = (request.lang, request.i18n());
    let mut current = steps(request.floor, team_id, lang).await?;
    let (verb, rest) = args.split_once(char::is_whitespace).unwrap_or((args, ""));
    let rest = rest.trim();
    let number = |text: &str| text.parse::<usize>().ok().filter(|n| (1..=current.len()).contains(n));
    // The answer, and whether the list changed and must be stored.
    let (text, changed) = match verb.to_lowercase().as_str() {
        "add" => match parse_step_text(rest) {
            Some(step) => {
                let title = step.title.clone();
                current.push(step);
                (t!(i18n, lang, "patrol-step-added", number = current.len(), title = title), true)
            }
            None => (usage(request), false),
        },
        "rm" | "remove" => match number(rest) {
            Some(n) => {
                let removed = current.remove(n - 1);
                (t!(i18n, lang, "patrol-step-removed", number = n, title = removed.title), true)
            }
            None => (t!(i18n, lang, "patrol-step-unknown", given = rest, count = current.len()), false),
        },
        "edit" => {
            let (number_text, step_text) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            match (number(number_text), parse_step_text(step_text)) {
                (Some(n), Some(mut step)) => {
                    step.kind = current[n - 1].kind.clone();
                    let title = step.title.clone();
                    current[n - 1] = step;
                    (t!(i18n, lang, "patrol-step-edited", number = n, title = title), true)
                }
                (None, _) => (t!(i18n, lang, "patrol-step-unknown", given = number_text, count = current.len()), false),
                (Some(_), None) => (usage(request), false),
            }
        }
        _ => (usage(request), false),
    };
    if changed {
        let mut transaction = crate::db::begin(request.db()).await?;
        sqlx::query("DELETE FROM patrol_steps WHERE team_id = ?").bind(team_id).execute(&mut *transaction).await?;
        for (index, step) in current.iter().enumerate() {
            sqlx::query(
                "INSERT INTO patrol_steps (team_id, position, kind, title, check_text, fix_text) VALUES (?, ?, ?, ?, ?, ?)",
            )
            .bind(team_id)
            .bind(i64::try_from(index + 1).unwrap_or(i64::MAX))
            .bind(&step.kind)
            .bind(&step.title)
            .bind(&step.check)
            .bind(&step.fix)
            .execute(&mut *transaction)
            .await?;
        }
        transaction.commit().await?;
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
    let today = today(request.floor, team_id, team_name).await?;
    let timezone = request.floor.config.timezone_for(team_name);
    let mut text = t!(i18n, lang, "patrol-history-header", days = days);
    let mut per_step: Vec<(String, i64)> = Vec::new();
    for offset in (0..days).rev() {
        let date: NaiveDate = today - Duration::days(offset);
        let Some(patrol) = for_day(request.db(), team_id, date).await? else { continue };
        let items = items(request.db(), patrol.id).await?;
        let mut issues: Vec<String> = Vec::new();
        for item in items.iter().filter(|item| matches!(item.state.as_str(), "issue" | "offline")) {
            let label = format!("{}. {}", item.position, item.title);
            if let Some(entry) = per_step.iter_mut().find(|(title, _)| *title == label) {
                entry.1 += 1;
            } else {
                per_step.push((label.clone(), 1));
            }
            issues.push(label);
        }
        let issues_text = if issues.is_empty() { "—".to_owned() } else { i18n.list(lang, &issues) };
        let line = match patrol.completed_at {
            Some(done) => {
                let by = match patrol.completed_by {
                    Some(id) => {
                        team::person(request.db(), id).await?.map(|person| person.name_html()).unwrap_or_default()
                    }
                    None => String::new(),
                };
                let late = if done > patrol.deadline_at {
                    t!(
                        i18n,
                        lang,
                        "patrol-history-late",
                        duration = crate::incident::duration_text(i18n, lang, patrol.deadline_at, done)
                    )
                } else {
                    String::new()
                };
                t!(
                    i18n,
                    lang,
                    "patrol-history-done",
                    date = patrol.local_date.as_str(),
                    time = done.with_timezone(&timezone).format("%H:%M").to_string(),
                    person = Arg::Html(by),
                    late = Arg::Html(late),
                    issues = issues_text
                )
            }
            None => t!(i18n, lang, "patrol-history-open", date = patrol.local_date.as_str(), issues = issues_text),
        };
        text.push('\n');
        text.push_str(&line);
    }
    per_step.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    if !per_step.is_empty() {
        text.push('\n');
        text.push_str(&t!(i18n, lang, "patrol-history-by-step"));
        for (title, count) in per_step {
            text.push('\n');
            text.push_str(&t!(i18n, lang, "patrol-history-step-line", title = title, count = count));
        }
    }
    request.reply(&text).await?;
    Ok(())
}

/// Roles for the changing subcommands.
pub const LEAD_OR_SUPERVISOR: &[Role] = &[Role::Lead, Role::Supervisor];
