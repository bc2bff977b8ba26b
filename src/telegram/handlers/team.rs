//! Commands that shape the floor: `/claim`, `/bind`, `/unbind`, `/role`, `/whoami`, `/team`,
//! `/duty` and `/lang`. Permission and argument checks happened before these run.

use crate::db::{chats, people};
use crate::domain::outbound::Outgoing;
use crate::domain::team::{BindError, Place, Role, SeenUser};
use crate::i18n::{Arg, I18n, Lang};
use crate::jobs::patrol;
use crate::telegram::command::{Menu, RoleChange, RoleTarget};
use crate::telegram::context::Request;
use crate::telegram::{members, menu};
use crate::{t, tp};

pub async fn claim(request: &Request<'_>, code: &str) -> anyhow::Result<()> {
    let lang = request.lang;
    let i18n = request.i18n();
    let text = if people::claim(request.db(), code, request.caller.user_id, request.now()).await? {
        tracing::info!(user_id = request.caller.user_id, "supervisor role claimed with the start-up code");
        t!(i18n, lang, "claim-ok")
    } else {
        t!(i18n, lang, "claim-invalid")
    };
    request.reply(&text).await?;
    Ok(())
}

pub async fn bind_team(request: &Request<'_>, name: &str) -> anyhow::Result<()> {
    let (lang, i18n) = (request.lang, request.i18n());
    let text =
        match chats::bind_team(request.db(), request.chat_id(), name, request.caller.user_id, request.now()).await? {
            Ok(()) => {
                // The binder spoke before the group was bound, so they were not recorded yet.
                people::record_member(request.db(), request.chat_id(), request.caller.user_id, request.now()).await?;
                members::learn_rights(request.floor, request.chat_id()).await;
                // A newly bound team starts patrolling at the next scheduled time, never late today.
                if let Some(team_id) = chats::team_id_by_name(request.db(), name).await? {
                    patrol::plan_next(request.floor, team_id, request.now()).await?;
                }
                let after = chats::place(request.db(), request.chat_id(), false).await?;
                menu::after_binding(request.floor, request.chat_id(), &request.place, &after).await;
                t!(i18n, lang, "bind-team-ok", team = name)
            }
            Err(BindError::TeamHasAnotherGroup { team, title }) => {
                t!(i18n, lang, "bind-team-taken", team = team, group = title)
            }
            Err(BindError::OpsIsAnotherGroup { title }) => t!(i18n, lang, "bind-ops-taken", group = title),
        };
    request.reply(&text).await?;
    Ok(())
}

pub async fn bind_ops(request: &Request<'_>) -> anyhow::Result<()> {
    let (lang, i18n) = (request.lang, request.i18n());
    let text = match chats::bind_ops(request.db(), request.chat_id(), request.caller.user_id, request.now()).await? {
        Ok(()) => {
            people::record_member(request.db(), request.chat_id(), request.caller.user_id, request.now()).await?;
            members::learn_rights(request.floor, request.chat_id()).await;
            menu::after_binding(request.floor, request.chat_id(), &request.place, &Place::OpsGroup).await;
            t!(i18n, lang, "bind-ops-ok")
        }
        Err(BindError::OpsIsAnotherGroup { title }) => t!(i18n, lang, "bind-ops-taken", group = title),
        Err(BindError::TeamHasAnotherGroup { team, title }) => {
            t!(i18n, lang, "bind-team-taken", team = team, group = title)
        }
    };
    request.reply(&text).await?;
    Ok(())
}

pub async fn unbind(request: &Request<'_>) -> anyhow::Result<()> {
    let (lang, i18n) = (request.lang, request.i18n());
    let text = if chats::unbind(request.db(), request.chat_id(), request.now()).await? {
        menu::after_binding(request.floor, request.chat_id(), &request.place, &Place::UnboundGroup).await;
        t!(i18n, lang, "unbind-ok")
    } else {
        t!(i18n, lang, "unbind-none")
    };
    request.reply(&text).await?;
    Ok(())
}

pub async fn change_role(
    request: &Request<'_>,
    change: RoleChange,
    role: Role,
    target: RoleTarget,
) -> anyhow::Result<()> {
    let (lang, i18n) = (request.lang, request.i18n());
    let person = match &target {
        RoleTarget::Reply => match request.message.reply_to_message().and_then(|reply| reply.from.as_ref()) {
            Some(user) if !user.is_bot => {
                // Replying to someone's message shows who they are, even if they have not
                // written since the bot joined (their message may be older than that).
                let user_id = i64::try_from(user.id.0).unwrap_or(i64::MAX);
                if people::person(request.db(), user_id).await?.is_none() {
                    let seen = SeenUser {
                        user_id,
                        first_name: &user.first_name,
                        last_name: user.last_name.as_deref(),
                        username: user.username.as_deref(),
                        language_code: user.language_code.as_deref(),
                    };
                    people::record_person(request.db(), &seen, false, request.now()).await?;
                }
                people::person(request.db(), user_id).await?
            }
            _ => {
                request.reply(&t!(i18n, lang, "role-reply-not-a-person")).await?;
                return Ok(());
            }
        },
        RoleTarget::Username(username) => people::person_by_username(request.db(), username).await?,
    };
    let Some(person) = person else {
        let who = match &target {
            RoleTarget::Username(username) => format!("@{username}"),
            RoleTarget::Reply => request
                .message
                .reply_to_message()
                .and_then(|reply| reply.from.as_ref())
                .map(|user| user.full_name())
                .unwrap_or_default(),
        };
        request.reply(&t!(i18n, lang, "role-unknown-person", who = who)).await?;
        return Ok(());
    };
    let role_label = role.label(i18n, lang);
    let text = match change {
        RoleChange::Add => {
            if people::grant(request.db(), person.user_id, role, request.caller.user_id, request.now()).await? {
                t!(i18n, lang, "role-added", person = Arg::Html(person.name_html()), role = role_label)
            } else {
                t!(i18n, lang, "role-already", person = Arg::Html(person.name_html()), role = role_label)
            }
        }
        RoleChange::Remove => {
            if people::revoke(request.db(), person.user_id, role).await? {
                t!(i18n, lang, "role-removed", person = Arg::Html(person.name_html()), role = role_label)
            } else if role == Role::Supervisor && request.floor.config.supervisors.contains(&person.user_id) {
                t!(i18n, lang, "role-in-config", person = Arg::Html(person.name_html()))
            } else {
                t!(i18n, lang, "role-not-held", person = Arg::Html(person.name_html()), role = role_label)
            }
        }
    };
    request.reply(&text).await?;
    Ok(())
}

pub async fn whoami(request: &Request<'_>) -> anyhow::Result<()> {
    let (lang, i18n) = (request.lang, request.i18n());
    let roles = if request.caller.roles.is_empty() {
        crate::tp!(i18n, lang, "no-roles")
    } else {
        request.caller.roles.labels(i18n, lang)
    };
    let name = match &request.caller.username {
        Some(username) => format!("{} (@{username})", request.caller.name),
        None => request.caller.name.clone(),
    };
    let text = t!(i18n, lang, "whoami", name = name, id = request.caller.user_id, roles = roles);
    request.reply(&text).await?;
    Ok(())
}

pub async fn list_members(request: &Request<'_>) -> anyhow::Result<()> {
    let (lang, i18n) = (request.lang, request.i18n());
    let members = people::members(request.db(), request.chat_id()).await?;
    let header = match &request.place {
        Place::TeamGroup { team_name, .. } => {
            t!(i18n, lang, "team-header", team = team_name.as_str(), count = members.len())
        }
        _ => t!(i18n, lang, "ops-header", count = members.len()),
    };
    let mut text = header;
    for person in &members {
        let roles = people::roles(request.db(), &request.floor.config.supervisors, person.user_id).await?;
        let roles = if roles.is_empty() { crate::tp!(i18n, lang, "no-roles") } else { roles.labels(i18n, lang) };
        text.push('\n');
        text.push_str(&t!(i18n, lang, "team-line", person = Arg::Html(person.name_html()), roles = roles));
    }
    request.reply(&text).await?;
    Ok(())
}

pub async fn take_duty(request: &Request<'_>) -> anyhow::Result<()> {
    let (lang, i18n) = (request.lang, request.i18n());
    people::take_duty(request.db(), request.caller.user_id, request.now()).await?;
    let mut text = t!(i18n, lang, "duty-taken", person = request.caller.name.as_str());
    // Escalations reach the duty supervisor privately; that only works once they started the bot.
    let started =
        people::person(request.db(), request.caller.user_id).await?.is_some_and(|person| person.started_private);
    if !started {
        text.push('\n');
        text.push_str(&t!(i18n, lang, "duty-start-bot-warning", bot = request.floor.bot_username()));
    }
    request.reply(&text).await?;
    Ok(())
}

pub async fn who_is_on_duty(request: &Request<'_>) -> anyhow::Result<()> {
    let (lang, i18n) = (request.lang, request.i18n());
    let text = match people::on_duty(request.db(), &request.floor.config.supervisors).await? {
        Some(user_id) => match people::person(request.db(), user_id).await? {
            Some(person) => t!(i18n, lang, "duty-who", person = Arg::Html(person.name_html())),
            None => t!(i18n, lang, "duty-who-unseen", id = user_id),
        },
        None => t!(i18n, lang, "duty-nobody"),
    };
    request.reply(&text).await?;
    Ok(())
}

/// A language's name: "中文", "English".
fn language_name(i18n: &I18n, lang: Lang) -> String {
    match lang {
        Lang::ZhCn => tp!(i18n, lang, "language-zh-cn"),
        Lang::En => tp!(i18n, lang, "language-en"),
    }
}

pub async fn show_language(request: &Request<'_>) -> anyhow::Result<()> {
    let name = language_name(request.i18n(), request.lang);
    let text = t!(request.i18n(), request.lang, "lang-current", lang = name);
    request.reply(&text).await?;
    Ok(())
}

pub async fn set_language(request: &Request<'_>, lang: Lang) -> anyhow::Result<()> {
    let chat_type = if request.place.is_group() { "group" } else { "private" };
    chats::set_chat_language(request.db(), request.chat_id(), chat_type, lang, request.now()).await?;
    let text = t!(request.i18n(), lang, "lang-set", lang = language_name(request.i18n(), lang));
    let message = Outgoing::new(text).replying_to(Some(request.message.id.0));
    request.floor.lane.send(request.chat_id(), message).await?;
    menu::set_for_chat(request.floor, request.chat_id(), Menu::for_place(&request.place), lang).await;
    Ok(())
}
