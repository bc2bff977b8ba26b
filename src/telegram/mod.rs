//! The Telegram edge: turns updates into the floor's commands and button presses, and the
//! floor's messages into Bot API calls through the one outbound [`lane`].
//!
//! Every message passes through [`on_message`]: the sender and the chat are recorded, a
//! command is recognised, checked against where it may be used and who may use it (once,
//! here, from the roles in SQLite), its arguments are parsed, and only then does a handler
//! in [`handlers`] run.

pub mod callback;
pub mod command;
pub mod context;
pub mod digest;
pub mod handlers;
pub mod help;
pub mod lane;
pub mod members;
pub mod menu;
pub mod polling;

use std::sync::Arc;

use teloxide::dispatching::UpdateHandler;
use teloxide::prelude::*;
use teloxide::types::User;

use self::command::{ArgumentError, Command, CommandName, split_command};
pub use self::context::{Caller, Floor, Request};
use self::handlers::{anomaly, contact, incident, patrol, store, team};
use crate::db::{chats, people};
use crate::domain::outbound::ButtonAction;
use crate::domain::team::{Place, Role, SeenUser};
use crate::i18n::{I18n, Lang};
use crate::t;

/// The handler tree. Naming `my_chat_member` here is what makes Telegram deliver those updates.
pub fn schema() -> UpdateHandler<anyhow::Error> {
    dptree::entry()
        .branch(Update::filter_my_chat_member().endpoint(members::on_my_chat_member))
        .branch(Update::filter_message().endpoint(on_message))
        .branch(Update::filter_callback_query().endpoint(on_callback))
}

fn seen_user(user: &User) -> SeenUser<'_> {
    SeenUser {
        user_id: user_id(user),
        first_name: &user.first_name,
        last_name: user.last_name.as_deref(),
        username: user.username.as_deref(),
        language_code: user.language_code.as_deref(),
    }
}

/// Telegram's user id as floorbot stores it (user ids fit in 52 bits).
fn user_id(user: &User) -> i64 {
    i64::try_from(user.id.0).unwrap_or(i64::MAX)
}

async fn on_message(floor: Arc<Floor>, message: Message) -> anyhow::Result<()> {
    let now = floor.now();
    let chat = &message.chat;
    let chat_id = chat.id.0;
    if let Some(new_chat_id) = message.migrate_to_chat_id() {
        tracing::info!(old = chat_id, new = new_chat_id.0, "group upgraded to a supergroup");
        chats::migrate_chat(&floor.db, chat_id, new_chat_id.0, now).await?;
        return Ok(());
    }
    // Telegram also posts the news in the new supergroup; either message may come first.
    if let Some(old_chat_id) = message.migrate_from_chat_id() {
        chats::migrate_chat(&floor.db, old_chat_id.0, chat_id, now).await?;
        return Ok(());
    }
    if chat.is_channel() {
        return Ok(());
    }
    let private = chat.is_private();
    if !private {
        chats::record_group(&floor.db, chat_id, members::chat_type(chat), chat.title(), now).await?;
    }
    let place = chats::place(&floor.db, chat_id, private).await?;

    // Record whoever speaks (and whoever joins) before anything else.
    if let Some(user) = message.from.as_ref().filter(|user| !user.is_bot) {
        people::record_person(&floor.db, &seen_user(user), private, now).await?;
        if place.is_bound_group() {
            people::record_member(&floor.db, chat_id, user_id(user), now).await?;
        }
    }
    if place.is_bound_group() {
        for user in message.new_chat_members().unwrap_or_default().iter().filter(|user| !user.is_bot) {
            people::record_person(&floor.db, &seen_user(user), false, now).await?;
            people::record_member(&floor.db, chat_id, user_id(user), now).await?;
        }
    }

    let Some(user) = message.from.as_ref().filter(|user| !user.is_bot) else { return Ok(()) };
    let Some(text) = message.text() else { return Ok(()) };
    let Some(command_text) = split_command(text) else {
        // A reply to one of the bot's prompts may answer that person's patrol question or
        // complete their /anomaly form.
        if matches!(place, Place::TeamGroup { .. })
            && let Some(replied) = message.reply_to_message()
        {
            let lang = floor.chat_language(chat_id).await;
            let user_id = user_id(user);
            if !patrol::answer_reply(&floor, chat_id, user_id, lang, replied.id.0, text).await? {
                anomaly::form_reply(&floor, &message, user_id, lang).await?;
            }
        }
        return Ok(());
    };
    if let Some(addressee) = command_text.addressee
        && !addressee.eq_ignore_ascii_case(floor.bot_username())
    {
        return Ok(());
    }
    // Unknown commands stay silent: groups are busy, and other bots may own them.
    let Some(name) = CommandName::from_name(&command_text.name) else { return Ok(()) };

    let user_id = user_id(user);
    let lang = floor.chat_language(chat_id).await;
    let roles = people::roles(&floor.db, &floor.config.supervisors, user_id).await?;
    let caller = Caller { user_id, name: seen_user(user).display_name(), username: user.username.clone(), roles };
    let request = Request { floor: &floor, message: &message, place: place.clone(), lang, caller };

    // Private details never belong in a group, bound or not.
    if place.is_group() && matches!(name, CommandName::Phone | CommandName::Emergency) {
        return contact::refuse_in_group(&request, command_text.args).await;
    }
    if !name.works_in(&place) {
        if let Some(hint) = wrong_place_hint(&floor, lang, name, &place) {
            request.reply(&hint).await.ok();
        }
        return Ok(());
    }

    let required = name.required_roles(&place, command_text.args);
    if !required.is_empty() && !request.caller.roles.any_of(required) {
        request.reply(&refusal(&floor.i18n, lang, name, required)).await.ok();
        return Ok(());
    }

    let command = match Command::parse(name, command_text.args, message.reply_to_message().is_some()) {
        Ok(command) => command,
        Err(error) => {
            request.reply(&argument_error(&floor.i18n, lang, name, &error)).await.ok();
            return Ok(());
        }
    };

    if let Err(error) = dispatch(&request, command).await {
        tracing::error!(chat_id, command = name.as_str(), error = format!("{error:#}"), "command failed");
        request.reply(&t!(floor.i18n, lang, "error-internal")).await.ok();
    }
    Ok(())
}

/// Runs a command whose place, permission and arguments are already checked.
async fn dispatch(request: &Request<'_>, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Start => help::start(request).await,
        Command::Help => help::help(request).await,
        Command::Claim { code } => team::claim(request, &code).await,
        Command::BindTeam { name } => team::bind_team(request, &name).await,
        Command::BindOps => team::bind_ops(request).await,
        Command::Unbind => team::unbind(request).await,
        Command::Role { change, role, target } => team::change_role(request, change, role, target).await,
        Command::Whoami => team::whoami(request).await,
        Command::Team => team::list_members(request).await,
        Command::DutyTake => team::take_duty(request).await,
        Command::DutyWho => team::who_is_on_duty(request).await,
        Command::LangShow => team::show_language(request).await,
        Command::LangSet(lang) => team::set_language(request, lang).await,
        Command::PhoneShow => contact::show_phone(request).await,
        Command::PhoneRemove => contact::remove_phone(request).await,
        Command::PhoneSet { number } => contact::set_phone(request, &number).await,
        Command::EmergencyShow => contact::show_emergency(request).await,
        Command::EmergencyRemove => contact::remove_emergency(request).await,
        Command::EmergencySet { name, number } => contact::set_emergency(request, &name, &number).await,
        Command::EmergencyRead { username } => contact::read_emergency(request, &username).await,
        Command::Store { args } => store::change(request, &args).await,
        Command::Stores => store::show(request).await,
        Command::Anomaly { args } => anomaly::command(request, &args).await,
        Command::Anomalies => incident::list_open(request).await,
        Command::Incident { args } => incident::show(request, &args).await,
        Command::Ack { args } => incident::ack_command(request, &args).await,
        Command::Resolve { args } => incident::resolve_command(request, &args).await,
        Command::Patrol { args } => patrol::command(request, &args).await,
    }
}

/// Where to use a command that does nothing here: a team's group, any bound group, or a
/// private chat. Unbound groups stay quiet.
fn wrong_place_hint(floor: &Floor, lang: Lang, name: CommandName, place: &Place) -> Option<String> {
    let command = name.as_str();
    Some(match place {
        Place::UnboundGroup => return None,
        _ if name.team_group_only() => t!(floor.i18n, lang, "command-team-group-only", command = command),
        Place::Private => t!(floor.i18n, lang, "command-group-only", command = command),
        Place::TeamGroup { .. } | Place::OpsGroup => {
            t!(floor.i18n, lang, "command-private-only", command = command, bot = floor.bot_username())
        }
    })
}

/// "Only supervisors can use /bind." — naming the roles that may.
fn refusal(i18n: &I18n, lang: Lang, name: CommandName, required: &[Role]) -> String {
    let roles = i18n.alternatives(lang, &required.iter().map(|role| role.label(i18n, lang)).collect::<Vec<_>>());
    t!(i18n, lang, "refused-role", command = name.as_str(), roles = roles)
}

fn argument_error(i18n: &I18n, lang: Lang, name: CommandName, error: &ArgumentError) -> String {
    let usage = help::usage(i18n, lang, name);
    match error {
        ArgumentError::Usage => t!(i18n, lang, "usage", usage = crate::i18n::Arg::Html(usage)),
        ArgumentError::UnknownRole(given) => {
            let names: Vec<String> = Role::all().map(|role| role.label(i18n, lang)).collect();
            t!(i18n, lang, "unknown-role", given = given.as_str(), known = i18n.list(lang, &names))
        }
        ArgumentError::UnknownLanguage(given) => t!(i18n, lang, "unknown-language", given = given.as_str()),
        ArgumentError::TeamNameTooLong => t!(i18n, lang, "team-name-too-long"),
    }
}

async fn on_callback(floor: Arc<Floor>, query: teloxide::types::CallbackQuery) -> anyhow::Result<()> {
    let user_id = user_id(&query.from);
    let Some(message) = query.regular_message() else {
        floor.lane.answer_callback(&query.id.0, None, false).await.ok();
        return Ok(());
    };
    let chat_id = message.chat.id.0;
    let lang = floor.chat_language(chat_id).await;
    let Some(action) = query.data.as_deref().and_then(callback::parse) else {
        floor.lane.answer_callback(&query.id.0, None, false).await.ok();
        return Ok(());
    };
    people::record_person(&floor.db, &seen_user(&query.from), false, floor.now()).await?;
    let roles = people::roles(&floor.db, &floor.config.supervisors, user_id).await?;
    let press = handlers::Press { floor: &floor, chat_id, message_id: message.id.0, user_id, roles, lang };
    let outcome = match action {
        ButtonAction::Acknowledge(_) | ButtonAction::Resolve(_) => incident::button(&press, action).await,
        ButtonAction::FormStore(_) | ButtonAction::FormKind(_) | ButtonAction::FormCancel => {
            anomaly::form_button(&press, action).await
        }
        ButtonAction::PatrolTick(item, tick) => patrol::tick(&press, item, tick).await,
        ButtonAction::PatrolSeverity(item, severity) => patrol::severity_chosen(&press, item, severity).await,
    };
    let (text, alert) = match outcome {
        Ok(answer) => answer,
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "button press failed");
            (crate::tp!(floor.i18n, lang, "error-internal-short"), true)
        }
    };
    let text = Some(text.as_str()).filter(|text| !text.is_empty());
    floor.lane.answer_callback(&query.id.0, text, alert).await.ok();
    Ok(())
}
