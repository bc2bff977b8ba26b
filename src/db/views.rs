//! What live messages are drawn from, read in one transaction: a render never mixes the state
//! before an acknowledgement with the state after it (which would show, say, "waiting for
//! operations" without the next step, and cost an edit that shows something that never was).

use std::collections::HashMap;

use chrono_tz::Tz;
use sqlx::{SqliteConnection, SqlitePool};

use super::{chats, incidents, jobs, people, stores};
use crate::domain::escalation::{Chain, Target};
use crate::domain::incident::{Event, Incident};
use crate::domain::render::People;
use crate::domain::render::incident::IncidentView;

/// A team's escalation chain and time zone, by team name (they come from the configuration).
pub type TeamSettings<'a> = &'a (dyn Fn(&str) -> (Chain, Tz) + Send + Sync);

/// The views of the incidents with these ids (those that exist), in the order given.
pub async fn of_incidents(db: &SqlitePool, ids: &[i64], settings: TeamSettings<'_>) -> sqlx::Result<Vec<IncidentView>> {
    // A deferred transaction: every read below sees the state of its first read.
    let mut snapshot = db.begin().await?;
    let mut found = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(incident) = incidents::get(&mut *snapshot, *id).await? {
            found.push(incident);
        }
    }
    let views = views(&mut snapshot, found, settings).await?;
    snapshot.commit().await?;
    Ok(views)
}

/// The views of the incidents a live message shows: one for a single relay or confirmation,
/// several for a digest. `relay` picks the cross-department message, else the team-group one.
pub async fn on_message(
    db: &SqlitePool,
    chat_id: i64,
    message_id: i64,
    relay: bool,
    settings: TeamSettings<'_>,
) -> sqlx::Result<Vec<IncidentView>> {
    let mut snapshot = db.begin().await?;
    let shown = incidents::on_message(&mut *snapshot, chat_id, message_id, relay).await?;
    let views = views(&mut snapshot, shown, settings).await?;
    snapshot.commit().await?;
    Ok(views)
}

async fn views(
    connection: &mut SqliteConnection,
    incidents: Vec<Incident>,
    settings: TeamSettings<'_>,
) -> sqlx::Result<Vec<IncidentView>> {
    let mut views = Vec::with_capacity(incidents.len());
    for incident in incidents {
        views.push(view(connection, incident, settings).await?);
    }
    Ok(views)
}

/// Loads what an incident's messages show.
async fn view(
    connection: &mut SqliteConnection,
    incident: Incident,
    settings: TeamSettings<'_>,
) -> sqlx::Result<IncidentView> {
    let events = incidents::events(&mut *connection, incident.id).await?;
    let team_name = chats::team_name(&mut *connection, incident.team_id).await?;
    let (chain, timezone) = settings(&team_name);
    let store = match incident.store_id {
        Some(id) => stores::by_id(&mut *connection, id).await?,
        None => None,
    };
    let next_step = match jobs::next_pending_step(&mut *connection, incident.id).await? {
        Some((index, due_at)) => {
            usize::try_from(index).ok().and_then(|index| chain.steps.get(index)).map(|step| (due_at, step.clone()))
        }
        None => None,
    };
    let target = next_step.as_ref().and_then(|(_, step)| match step.target {
        Target::User(id) => Some(id),
        _ => None,
    });
    let named = [Some(incident.reporter_id), incident.acknowledged_by, incident.resolved_by, target]
        .into_iter()
        .flatten()
        .chain(events.iter().flat_map(Event::people))
        .collect();
    let people = named_in(connection, named).await?;
    let has_ops_group = incidents::ops_group(&mut *connection).await?.is_some();
    Ok(IncidentView { incident, team_name, store, events, people, next_step, has_ops_group, timezone })
}

/// Everyone these ids name, by id.
pub async fn named(db: &SqlitePool, ids: Vec<i64>) -> sqlx::Result<People> {
    named_in(&mut *db.acquire().await?, ids).await
}

/// [`named`] on a connection (a `Vec`, not an iterator: an iterator with a closure held across
/// the awaits would make the caller's future not `Send`).
async fn named_in(connection: &mut SqliteConnection, ids: Vec<i64>) -> sqlx::Result<People> {
    let mut found = HashMap::new();
    for id in ids {
        if found.contains_key(&id) {
            continue;
        }
        if let Some(person) = people::person(&mut *connection, id).await? {
            found.insert(id, person);
        }
    }
    Ok(People(found))
}
