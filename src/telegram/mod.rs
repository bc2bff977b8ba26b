//! The Telegram edge: the handler tree, the per-message request context, the permission
//! check, and dispatch to the domain modules' command handlers.
//!
//! Every message passes through [`on_message`]: the sender and the chat are recorded, a
//! command is recognised, checked against where it may be used and who may use it (once,
//! here), its arguments are parsed, and only then does a handler run.

pub mod callback;
pub mod command;
pub mod help;
pub mod html;
pub mod lane;
pub mod menu;

use std::sync::Arc;

use sqlx::SqlitePool;
use teloxide::dispatching::UpdateHandler;
use teloxide::prelude::*;
use teloxide::types::{ChatMemberUpdated, User};

use self::command::{ArgumentError, Command, CommandName, split_command};
use self::lane::{Lane, SendError, SendOptions, Sent};
use crate::clock::Clock;
use crate::config::Config;
use crate::i18n::{I18n, Lang};
use crate::team::{self, Place, Role, RoleSet, SeenUser};
use crate::{contact, t};

/// Everything a handler may need, shared by all of them.
pub struct Floor {
    pub db: SqlitePool,
    pub config: Arc<Config>,
    pub i18n: Arc<I18n>,
    pub clock: Arc<dyn Clock>,
    pub lane: Lane,
    /// The bot's own @username, to recognise `/command@this_bot`; known once Telegram answered.
    pub bot_username: std::sync::OnceLock<String>,
    /// The bot's own user id, to ask Telegram what it may do in a group.
    pub bot_id: std::sync::OnceLock<i64>,
    pub scheduler: crate::scheduler::SchedulerHandle,
    /// The phone provider, if one is configured.
    pub phone: Option<Arc<dyn crate::phone::Phone>>,
}

impl Floor {
    pub fn bot_username(&self) -> &str {
        self.bot_username.get().map(String::as_str).unwrap_or_default()
    }

    /// The language of a chat: its `/lang` setting, else the configured default.
    pub async fn chat_language(&self, chat_id: i64) -> Lang {
        match team::chat_language(&self.db, chat_id).await {
            Ok(Some(lang)) => lang,
            Ok(None) => self.config.language,
            Err(error) => {
                tracing::error!(%error, "could not read the chat language");
                self.config.language
            }
        }
    }
}

/// The person who sent a command, with every role they hold.
#[derive(Clone, Debug)]
pub struct Caller {
    pub user_id: i64,
    pub name: String,
    pub username: Option<String>,
    pub roles: RoleSet,
}

/// One command being handled: who, where, in which language.
pub struct Request<'a> {
    pub floor: &'a Floor,
    pub message: &'a Message,
    pub place: Place,
    pub lang: Lang,
    pub caller: Caller,
}

impl Request<'_> {
    pub fn chat_id(&self) -> i64 {
        self.message.chat.id.0
    }

    pub fn db(&self) -> &SqlitePool {
        &self.floor.db
    }

    pub fn i18n(&self) -> &I18n {
        &self.floor.i18n
    }

    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.floor.clock.now()
    }

    /// Answers in the same chat, as a reply to the command.
    pub async fn reply(&self, html: &str) -> Result<Vec<Sent>, SendError> {
        self.floor.lane.send(self.chat_id(), html, SendOptions::reply_to(self.message.id.0)).await
    }
}

/// The handler tree. Naming `my_chat_member` here is what makes Telegram deliver those updates.
pub fn schema() -> UpdateHandler<anyhow::Error> {
    dptree::entry()
        .branch(Update::filter_my_chat_member().endpoint(on_my_chat_member))
        .branch(Update::filter_message().endpoint(on_message))
        .branch(Update::filter_callback_query().endpoint(on_callback))
}

fn seen_user(user: &User) -> SeenUser<'_> {
    SeenUser {
        user_id: user.id.0 as i64,
        first_name: &user.first_name,
        last_name: user.last_name.as_deref(),
        username: user.username.as_deref(),
        language_code: user.language_code.as_deref(),
    }
}

fn chat_type(chat: &teloxide::types::Chat) -> &'static str {
    if chat.is_private() {
        "private"
    } else if chat.is_supergroup() {
        "supergroup"
    } else if chat.is_group() {
        "group"
    } else {
        "channel"
    }
}

/// Whether a member with this status may delete other people's messages.
fn can_delete(kind: &teloxide::types::ChatMemberKind) -> bool {
    use teloxide::types::ChatMemberKind;
    match kind {
        ChatMemberKind::Owner(_) => true,
        ChatMemberKind::Administrator(admin) => admin.can_delete_messages,
        _ => false,
    }
}

/// Asks Telegram what the bot may do in a group it was just bound in, and remembers whether
/// it may delete messages there. Unknown means no.
pub async fn learn_rights(floor: &Floor, chat_id: i64) {
    let Some(bot_id) = floor.bot_id.get().copied() else { return };
    let body = serde_json::json!({ "chat_id": chat_id, "user_id": bot_id });
    let member = match floor.lane.call_with_retry("getChatMember", &body).await {
        Ok(member) => member,
        Err(error) => {
            tracing::warn!(chat_id, %error, "could not ask what the bot may do in this group");
            return;
        }
    };
    let may = match member["status"].as_str() {
        Some("creator") => true,
        Some("administrator") => member["can_delete_messages"].as_bool() == Some(true),
        _ => false,
    };
    if let Err(error) = team::set_can_delete(&floor.db, chat_id, may).await {
        tracing::warn!(chat_id, %error, "could not record what the bot may do in this group");
    }
}

async fn on_my_chat_member(floor: Arc<Floor>, update: ChatMemberUpdated) -> anyhow::Result<()> {
    let chat = &update.chat;
    if chat.is_private() || chat.is_channel() {
        return Ok(());
    }
    let now = floor.clock.now();
    let chat_id = chat.id.0;
    if update.new_chat_member.is_present() {
        team::set_can_delete(&floor.db, chat_id, can_delete(&update.new_chat_member.kind)).await?;
        let newly_added = !update.old_chat_member.is_present();
        team::reactivate_chat(&floor.db, chat_id, chat_type(chat), chat.title(), now).await?;
        if newly_added {
            tracing::info!(chat_id, "added to a group");
            let lang = floor.chat_language(chat_id).await;
            let hint = t!(floor.i18n, lang, "added-to-group");
            if let Err(error) = floor.lane.send(chat_id, &hint, SendOptions::default()).await {
                tracing::warn!(chat_id, %error, "could not greet a new group");
            }
        }
    } else {
        tracing::info!(chat_id, "removed from a group; its binding is now inactive");
        team::deactivate_chat(&floor.db, chat_id, now).await?;
    }
    Ok(())
}

async fn on_message(floor: Arc<Floor>, message: Message) -> anyhow::Result<()> {
    let now = floor.clock.now();
    let chat = &message.chat;
    let chat_id = chat.id.0;
    if let Some(new_chat_id) = message.migrate_to_chat_id() {
        tracing::info!(old = chat_id, new = new_chat_id.0, "group upgraded to a supergroup");
        team::migrate_chat(&floor.db, chat_id, new_chat_id.0, now).await?;
        return Ok(());
    }
    // Telegram also posts the news in the new supergroup; either message may come first.
    if let Some(old_chat_id) = message.migrate_from_chat_id() {
        team::migrate_chat(&floor.db, old_chat_id.0, chat_id, now).await?;
        return Ok(());
    }
    if chat.is_channel() {
        return Ok(());
    }
    let private = chat.is_private();
    if !private {
        team::record_group(&floor.db, chat_id, chat_type(chat), chat.title(), now).await?;
    }
    let place = team::place(&floor.db, chat_id, private).await?;

    // Record whoever speaks (and whoever joins) before anything else.
    if let Some(user) = message.from.as_ref().filter(|user| !user.is_bot) {
        team::record_person(&floor.db, &seen_user(user), private, now).await?;
        if place.is_bound_group() {
            team::record_member(&floor.db, chat_id, user.id.0 as i64, now).await?;
        }
    }
    if place.is_bound_group() {
        for user in message.new_chat_members().unwrap_or_default().iter().filter(|user| !user.is_bot) {
            team::record_person(&floor.db, &seen_user(user), false, now).await?;
            team::record_member(&floor.db, chat_id, user.id.0 as i64, now).await?;
        }
    }

    let Some(user) = message.from.as_ref().filter(|user| !user.is_bot) else { return Ok(()) };
    let Some(text) = message.text() else { return Ok(()) };
    let Some(command_text) = split_command(text) else {
        // A reply to one of the bot's prompts may complete that person's /anomaly form.
        if matches!(place, Place::TeamGroup { .. })
            && let Some(replied) = message.reply_to_message()
        {
            let lang = floor.chat_language(chat_id).await;
            let user_id = user.id.0 as i64;
            if !crate::patrol::answer_reply(&floor, chat_id, user_id, lang, replied.id.0, text).await? {
                crate::anomaly::form_reply(&floor, &message, user_id, lang).await?;
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

    let user_id = user.id.0 as i64;
    let lang = floor.chat_language(chat_id).await;
    let roles = team::roles(&floor.db, &floor.config, user_id).await?;
    let caller = Caller {
        user_id,
        name: seen_user(user).first_name.to_owned()
            + &user.last_name.as_deref().map(|last| format!(" {last}")).unwrap_or_default(),
        username: user.username.clone(),
        roles,
    };
    let request = Request { floor: &floor, message: &message, place: place.clone(), lang, caller };

    // Private details never belong in a group, bound or not.
    if place.is_group() && matches!(name, CommandName::Phone | CommandName::Emergency) {
        return contact::commands::refuse_in_group(&request, command_text.args).await;
    }
    if !name.works_in(&place) {
        let hint = match place {
            Place::Private => Some(t!(floor.i18n, lang, "command-group-only", command = name.as_str())),
            Place::UnboundGroup => None,
            Place::TeamGroup { .. } | Place::OpsGroup => {
                Some(t!(floor.i18n, lang, "command-private-only", command = name.as_str(), bot = floor.bot_username()))
            }
        };
        if let Some(hint) = hint {
            request.reply(&hint).await.ok();
        }
        return Ok(());
    }

    let required = name.required_roles(&place, command_text.args);
    if !required.is_empty() && !request.caller.roles.any_of(required) {
        let refusal = refusal(&floor.i18n, lang, name, required);
        request.reply(&refusal).await.ok();
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
    use crate::team::commands as team_commands;
    use contact::commands as contact_commands;
    match command {
        Command::Start => help::start(request).await,
        Command::Help => help::help(request).await,
        Command::Claim { code } => team_commands::claim(request, &code).await,
        Command::BindTeam { name } => team_commands::bind_team(request, &name).await,
        Command::BindOps => team_commands::bind_ops(request).await,
        Command::Unbind => team_commands::unbind(request).await,
        Command::Role { change, role, target } => team_commands::change_role(request, change, role, target).await,
        Command::Whoami => team_commands::whoami(request).await,
        Command::Team => team_commands::list_members(request).await,
        Command::DutyTake => team_commands::take_duty(request).await,
        Command::DutyWho => team_commands::who_is_on_duty(request).await,
        Command::LangShow => team_commands::show_language(request).await,
        Command::LangSet(lang) => team_commands::set_language(request, lang).await,
        Command::PhoneShow => contact_commands::show_phone(request).await,
        Command::PhoneRemove => contact_commands::remove_phone(request).await,
        Command::PhoneSet { number } => contact_commands::set_phone(request, &number).await,
        Command::EmergencyShow => contact_commands::show_emergency(request).await,
        Command::EmergencyRemove => contact_commands::remove_emergency(request).await,
        Command::EmergencySet { name, number } => contact_commands::set_emergency(request, &name, &number).await,
        Command::EmergencyRead { username } => contact_commands::read_emergency(request, &username).await,
        Command::Store { args } => crate::store::change(request, &args).await,
        Command::Stores => crate::store::show(request).await,
        Command::Anomaly { args } => crate::anomaly::command(request, &args).await,
        Command::Anomalies => crate::incident::list_open(request).await,
        Command::Incident { args } => crate::incident::show(request, &args).await,
        Command::Ack { args } => crate::incident::ack_command(request, &args).await,
        Command::Resolve { args } => crate::incident::resolve_command(request, &args).await,
        Command::Patrol { args } => crate::patrol::commands::command(request, &args).await,
    }
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
            let known = Role::ALL.iter().map(|role| role.as_str()).collect::<Vec<_>>().join(", ");
            t!(i18n, lang, "unknown-role", given = given.as_str(), known = known)
        }
        ArgumentError::UnknownLanguage(given) => t!(i18n, lang, "unknown-language", given = given.as_str()),
        ArgumentError::TeamNameTooLong => t!(i18n, lang, "team-name-too-long"),
    }
}

async fn on_callback(floor: Arc<Floor>, query: teloxide::types::CallbackQuery) -> anyhow::Result<()> {
    use self::callback::CallbackData;
    let user_id = query.from.id.0 as i64;
    let Some(message) = query.regular_message() else {
        floor.lane.answer_callback(&query.id.0, None, false).await.ok();
        return Ok(());
    };
    let chat_id = message.chat.id.0;
    let lang = floor.chat_language(chat_id).await;
    let Some(data) = query.data.as_deref().and_then(CallbackData::parse) else {
        floor.lane.answer_callback(&query.id.0, None, false).await.ok();
        return Ok(());
    };
    team::record_person(&floor.db, &seen_user(&query.from), false, floor.clock.now()).await?;
    let outcome = match data {
        CallbackData::Acknowledge(_) | CallbackData::Resolve(_) => {
            let roles = team::roles(&floor.db, &floor.config, user_id).await?;
            crate::incident::button(&floor, lang, user_id, &roles, data).await
        }
        CallbackData::FormStore(_) | CallbackData::FormKind(_) | CallbackData::FormCancel => {
            crate::anomaly::form_button(&floor, chat_id, message.id.0, user_id, lang, data).await
        }
        CallbackData::PatrolTick(item, tick) => {
            let roles = team::roles(&floor.db, &floor.config, user_id).await?;
            crate::patrol::tick(&floor, chat_id, user_id, &roles, lang, item, tick).await
        }
        CallbackData::PatrolSeverity(item, severity) => {
            crate::patrol::severity_chosen(&floor, chat_id, message.id.0, user_id, lang, item, severity).await
        }
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
