//! The morning patrol's flows: planning each team's next start, posting the day's checklist
//! (a snapshot of the steps, with its reminder and deadline as jobs), drawing it live,
//! reminding the owner, chasing a late patrol, completing it, and filing findings.

use chrono::{DateTime, NaiveDate, Utc};

use super::{Deps, message_id};
use crate::db::{self, patrols};
use crate::domain::incident::{IncidentKind, Severity};
use crate::domain::outbound::Outgoing;
use crate::domain::patrol::{self as rules, Item, Patrol, StepText, default_steps};
use crate::domain::render::patrol::{self as render, PatrolView};
use crate::domain::schedule::{Days, LocalTime, Schedule, reminder_between};
use crate::i18n::Lang;

/// The team's steps: its own if it has any, else the default ten in `lang`.
pub async fn steps(deps: &Deps, team_id: i64, lang: Lang) -> sqlx::Result<Vec<StepText>> {
    let own = patrols::custom_steps(&deps.db, team_id).await?;
    Ok(if own.is_empty() { default_steps(&deps.i18n, lang) } else { own })
}

/// The schedule in force: set by command, else the configuration file, else 08:30 daily.
pub async fn effective_schedule(deps: &Deps, team_id: i64) -> sqlx::Result<Schedule> {
    let name = db::chats::team_name(&deps.db, team_id).await?;
    let timezone = deps.config.timezone_for(&name);
    let stored = patrols::settings(&deps.db, team_id).await?;
    if let (Some(at), Some(days)) = (stored.at.as_deref(), stored.days.as_deref())
        && let (Ok(at), Ok(days)) = (LocalTime::parse(at), Days::parse(days))
    {
        let deadline = stored.deadline.as_deref().and_then(|text| LocalTime::parse(text).ok());
        if let Ok(schedule) = Schedule::new(at, days, deadline, timezone) {
            return Ok(schedule);
        }
    }
    if let Some(file) = deps.config.patrol_for(&name)
        && let Ok(schedule) = Schedule::new(file.at, file.days, file.deadline, timezone)
    {
        return Ok(schedule);
    }
    Ok(Schedule::default_in(timezone))
}

/// Today's local date for a team.
pub async fn today(deps: &Deps, team_id: i64) -> sqlx::Result<NaiveDate> {
    Ok(effective_schedule(deps, team_id).await?.local_date(deps.now()))
}

/// Who is responsible on `date`: the named person, else a rotation among the team's leads
/// (by day), else the supervisor on duty.
pub async fn owner_for(deps: &Deps, team_id: i64, date: NaiveDate) -> sqlx::Result<Option<i64>> {
    if let Some(owner) = patrols::settings(&deps.db, team_id).await?.owner_id {
        return Ok(Some(owner));
    }
    let leads = patrols::team_leads(&deps.db, team_id).await?;
    if !leads.is_empty() {
        let day = usize::try_from(chrono::Datelike::num_days_from_ce(&date)).unwrap_or_default();
        return Ok(leads.get(day % leads.len()).copied());
    }
    db::people::on_duty(&deps.db, &deps.config.supervisors).await
}

/// (Re)plans a team's next patrol: its start job replaces any pending one. A changed schedule
/// therefore takes effect at its next occurrence, and nothing is posted late for a time that
/// passed before the change.
pub async fn plan_next(deps: &Deps, team_id: i64, after: DateTime<Utc>) -> anyhow::Result<()> {
    let schedule = effective_schedule(deps, team_id).await?;
    let bound = patrols::team_chat(&deps.db, team_id).await?.is_some();
    let next = if bound { schedule.next_start_after(after) } else { None };
    patrols::plan_start(&deps.db, team_id, next).await?;
    deps.runner.wake();
    Ok(())
}

/// At start: every bound team without a planned patrol gets one (a pending start left by the
/// last run stays, so a patrol missed while the bot was down is still posted, late).
pub async fn plan_all(deps: &Deps) -> anyhow::Result<()> {
    let now = deps.now();
    for team_id in patrols::teams_without_a_plan(&deps.db).await? {
        plan_next(deps, team_id, now).await?;
    }
    Ok(())
}

/// A planned start came due: post the day's checklist (late if the bot was down), unless the
/// deadline already passed; then plan the next one.
pub async fn start(deps: &Deps, team_id: i64, date_text: &str) -> anyhow::Result<()> {
    let now = deps.now();
    let Ok(date) = NaiveDate::parse_from_str(date_text, "%Y-%m-%d") else { return Ok(()) };
    let schedule = effective_schedule(deps, team_id).await?;
    if schedule.due_but_not_late(date, now) {
        let late = schedule.start_on(date).is_some_and(|start| (now - start).num_seconds() > 60);
        post(deps, team_id, date, &schedule, late).await?;
    } else {
        tracing::warn!(team_id, %date, "a patrol start came due after its deadline; not posted");
    }
    let after = schedule.start_on(date).map_or(now, |start| start.max(now));
    plan_next(deps, team_id, after).await
}

/// Records the day's patrol and its checklist snapshot; its message follows as a job.
/// Returns None if it was already posted (or the team has no group).
pub async fn post(
    deps: &Deps,
    team_id: i64,
    date: NaiveDate,
    schedule: &Schedule,
    late: bool,
) -> anyhow::Result<Option<i64>> {
    let Some(chat_id) = patrols::team_chat(&deps.db, team_id).await? else { return Ok(None) };
    let now = deps.now();
    let (starts_at, deadline_at) = match (schedule.start_on(date), schedule.deadline_on(date)) {
        (Some(starts_at), Some(deadline_at)) => (starts_at, deadline_at.max(now + chrono::Duration::minutes(1))),
        // Posted by hand on a day without a patrol: the window is from now, an hour long.
        _ => (now, now + chrono::Duration::hours(1)),
    };
    let lang = deps.chat_language(chat_id).await;
    let steps = steps(deps, team_id, lang).await?;
    let stores: Vec<i64> = db::stores::list(&deps.db, team_id).await?.iter().map(|store| store.id).collect();
    let owner = owner_for(deps, team_id, date).await?;
    let new = patrols::NewPatrol {
        team_id,
        date,
        chat_id,
        owner,
        starts_at,
        deadline_at,
        reminder_at: reminder_between(starts_at, deadline_at).max(now),
        late,
        steps: &steps,
        stores: &stores,
    };
    let id = patrols::create(&deps.db, &new, now).await?;
    deps.runner.wake();
    Ok(id)
}

/// Loads what a checklist shows.
pub async fn view(deps: &Deps, patrol: Patrol) -> sqlx::Result<PatrolView> {
    let items = patrols::items(&deps.db, patrol.id).await?;
    let team_name = db::chats::team_name(&deps.db, patrol.team_id).await?;
    let timezone = deps.config.timezone_for(&team_name);
    let mut stores = std::collections::HashMap::new();
    let store_ids: Vec<i64> = items.iter().filter_map(|item| item.store_id).collect();
    for store_id in store_ids {
        if let Some(store) = db::stores::by_id(&deps.db, store_id).await? {
            stores.insert(store_id, store);
        }
    }
    let named = patrol.owner_id.into_iter().chain(items.iter().filter_map(|item| item.ticked_by)).collect();
    let people = db::views::named(&deps.db, named).await?;
    Ok(PatrolView { patrol, items, team_name, stores, people, timezone })
}

/// Draws the checklist: posts it the first time, submits it as a live render afterwards.
pub async fn refresh(deps: &Deps, patrol_id: i64) -> anyhow::Result<()> {
    let Some(patrol) = patrols::get(&deps.db, patrol_id).await? else { return Ok(()) };
    let lang = deps.chat_language(patrol.chat_id).await;
    let view = view(deps, patrol).await?;
    let patrol = &view.patrol;
    let text = render::checklist(&deps.i18n, lang, &view);
    let (main, stores) = render::keyboards(&deps.i18n, lang, &view.items, &view.stores);
    let stores_needed = stores.is_some() || patrol.stores_message_id.is_some();
    match message_id(patrol.message_id) {
        Some(message_id) => deps.messenger.refresh(patrol.chat_id, message_id, text, main, false).await?,
        None => {
            let sent = deps.messenger.send(patrol.chat_id, Outgoing::new(text).with_keyboard(main).live()).await?;
            if let Some(last) = sent.last() {
                patrols::set_message(&deps.db, patrol_id, last.message_id, false).await?;
            }
        }
    }
    if stores_needed {
        let text = render::stores_message(&deps.i18n, lang, patrol);
        match message_id(patrol.stores_message_id) {
            Some(message_id) => deps.messenger.refresh(patrol.chat_id, message_id, text, stores, false).await?,
            None => {
                let sent =
                    deps.messenger.send(patrol.chat_id, Outgoing::new(text).with_keyboard(stores).live()).await?;
                if let Some(last) = sent.last() {
                    patrols::set_message(&deps.db, patrol_id, last.message_id, true).await?;
                }
            }
        }
    }
    Ok(())
}

/// Before the deadline: the responsible person (else the team's leads) is mentioned with the
/// open steps and the time actually left.
pub async fn remind(deps: &Deps, patrol_id: i64) -> anyhow::Result<()> {
    let Some(patrol) = patrols::get(&deps.db, patrol_id).await? else { return Ok(()) };
    if patrol.completed_at.is_some() {
        return Ok(());
    }
    let lang = deps.chat_language(patrol.chat_id).await;
    let view = view(deps, patrol).await?;
    let who = match view.patrol.owner_id {
        Some(owner) => vec![view.people.mention(owner)],
        None => {
            let mut leads = Vec::new();
            for lead in patrols::team_leads(&deps.db, view.patrol.team_id).await? {
                if let Some(person) = db::people::person(&deps.db, lead).await? {
                    leads.push(person.mention());
                }
            }
            leads
        }
    };
    let text = render::reminder(&deps.i18n, lang, &view, &who, deps.now());
    let message = Outgoing::new(text).replying_to(message_id(view.patrol.message_id));
    deps.messenger.send(view.patrol.chat_id, message).await?;
    patrols::set_reminded(&deps.db, patrol_id, deps.now()).await?;
    Ok(())
}

/// At the deadline an unfinished patrol is late: the supervisor on duty is told privately and
/// mentioned in the group.
pub async fn deadline(deps: &Deps, patrol_id: i64) -> anyhow::Result<()> {
    let Some(patrol) = patrols::get(&deps.db, patrol_id).await? else { return Ok(()) };
    if patrol.completed_at.is_some() || !patrols::escalate(&deps.db, patrol_id, deps.now()).await? {
        return Ok(());
    }
    deps.runner.wake();
    let lang = deps.chat_language(patrol.chat_id).await;
    let view = view(deps, patrol).await?;
    let duty = db::people::on_duty(&deps.db, &deps.config.supervisors).await?;
    let mention = match duty {
        Some(id) => db::people::person(&deps.db, id).await?.map(|person| person.mention()),
        None => None,
    };
    let message = Outgoing::new(render::late_in_group(&deps.i18n, lang, &view, mention.as_deref()))
        .replying_to(message_id(view.patrol.message_id));
    deps.messenger.send(view.patrol.chat_id, message).await?;
    if let Some(duty) = duty {
        let private_lang = deps.chat_language(duty).await;
        let text = render::late_in_private(&deps.i18n, private_lang, &view);
        if let Err(error) = deps.messenger.send(duty, Outgoing::new(text)).await {
            tracing::warn!(%error, "could not tell the duty supervisor about a late patrol");
        }
    }
    Ok(())
}

/// After a tick: when every item is done, the patrol is complete — recorded once, its timers
/// stopped, and a one-line summary posted.
pub async fn check_completion(deps: &Deps, patrol_id: i64, by: i64) -> anyhow::Result<()> {
    let items = patrols::items(&deps.db, patrol_id).await?;
    if !rules::is_complete(&items) {
        return Ok(());
    }
    let now = deps.now();
    if !patrols::complete(&deps.db, patrol_id, by, now).await? {
        return Ok(());
    }
    deps.runner.wake();
    let Some(patrol) = patrols::get(&deps.db, patrol_id).await? else { return Ok(()) };
    let lang = deps.chat_language(patrol.chat_id).await;
    let view = view(deps, patrol).await?;
    let message =
        Outgoing::new(render::summary(&deps.i18n, lang, &view, now)).replying_to(message_id(view.patrol.message_id));
    deps.messenger.send(view.patrol.chat_id, message).await?;
    Ok(())
}

/// Records a finding as an incident linked to its item, routed by severity
/// ([`rules::route`]): blue is recorded only; yellow messages and mentions the supervisor on
/// duty (no call); red is relayed to operations and runs the escalation chain.
pub async fn file_finding(
    deps: &Deps,
    patrol: &Patrol,
    item: &Item,
    kind: IncidentKind,
    severity: Severity,
    description: &str,
    reporter: i64,
) -> anyhow::Result<i64> {
    let (chain, _) = deps.team_settings(patrol.team_id).await?;
    let on_duty = db::people::on_duty(&deps.db, &deps.config.supervisors).await?;
    let finding = patrols::Finding {
        patrol,
        store_id: item.store_id,
        kind,
        severity,
        routing: rules::route(severity),
        description,
        reporter,
        on_duty,
        chain: &chain,
    };
    let id = patrols::file_finding(&deps.db, &finding, deps.now()).await?;
    deps.runner.wake();
    Ok(id)
}
