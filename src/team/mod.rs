//! The floor's structure: teams and their groups, the cross-department group, people, roles
//! and the supervisor on duty.
//!
//! A group becomes a team group with `/bind team <name>` or the cross-department (operations)
//! group with `/bind ops`. Everyone seen in a team group is an agent of that team; other roles
//! are granted by supervisors and stored here. Command handlers are in [`commands`].

pub mod commands;

use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, Utc};
use rand::Rng;
use sqlx::{FromRow, SqlitePool};

use crate::config::Config;
use crate::i18n::Lang;

/// What a person may do on the floor. A person may hold several.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Agent,
    Lead,
    Supervisor,
    Ops,
    It,
    Admin,
    Pr,
}

impl Role {
    pub const ALL: [Role; 7] = [Role::Agent, Role::Lead, Role::Supervisor, Role::Ops, Role::It, Role::Admin, Role::Pr];

    /// The name stored in the database and typed in commands.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Lead => "lead",
            Role::Supervisor => "supervisor",
            Role::Ops => "ops",
            Role::It => "it",
            Role::Admin => "admin",
            Role::Pr => "pr",
        }
    }

    /// Accepts the English names and the words a Chinese floor uses.
    pub fn parse(text: &str) -> Option<Role> {
        let lower = text.trim().to_lowercase();
        Some(match lower.as_str() {
            "agent" | "客服" => Role::Agent,
            "lead" | "组长" => Role::Lead,
            "supervisor" | "主管" | "客服主管" => Role::Supervisor,
            "ops" | "operations" | "运营" => Role::Ops,
            "it" => Role::It,
            "admin" | "行政" | "综合管理" | "综合管理部" => Role::Admin,
            "pr" | "公关" | "法务" | "公关法务" => Role::Pr,
            _ => return None,
        })
    }

    /// The role's name in `lang`.
    pub fn label(self, i18n: &crate::i18n::I18n, lang: Lang) -> String {
        match self {
            Role::Agent => crate::tp!(i18n, lang, "role-agent"),
            Role::Lead => crate::tp!(i18n, lang, "role-lead"),
            Role::Supervisor => crate::tp!(i18n, lang, "role-supervisor"),
            Role::Ops => crate::tp!(i18n, lang, "role-ops"),
            Role::It => crate::tp!(i18n, lang, "role-it"),
            Role::Admin => crate::tp!(i18n, lang, "role-admin"),
            Role::Pr => crate::tp!(i18n, lang, "role-pr"),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The roles a person holds, whether granted, configured or implied.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RoleSet(BTreeSet<Role>);

impl RoleSet {
    pub fn contains(&self, role: Role) -> bool {
        self.0.contains(&role)
    }

    pub fn any_of(&self, roles: &[Role]) -> bool {
        roles.iter().any(|role| self.contains(*role))
    }

    pub fn insert(&mut self, role: Role) {
        self.0.insert(role);
    }

    pub fn iter(&self) -> impl Iterator<Item = Role> + '_ {
        self.0.iter().copied()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The roles in `lang`, joined for display (`组长、客服`).
    pub fn labels(&self, i18n: &crate::i18n::I18n, lang: Lang) -> String {
        i18n.list(lang, &self.iter().map(|role| role.label(i18n, lang)).collect::<Vec<_>>())
    }
}

impl FromIterator<Role> for RoleSet {
    fn from_iter<I: IntoIterator<Item = Role>>(iter: I) -> Self {
        RoleSet(iter.into_iter().collect())
    }
}

/// What a chat is to floorbot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Place {
    Private,
    /// A group nobody has bound (or whose binding ended).
    UnboundGroup,
    TeamGroup {
        team_id: i64,
        team_name: String,
    },
    /// The cross-department group where CS meets operations.
    OpsGroup,
}

impl Place {
    pub fn is_group(&self) -> bool {
        !matches!(self, Place::Private)
    }

    pub fn is_bound_group(&self) -> bool {
        matches!(self, Place::TeamGroup { .. } | Place::OpsGroup)
    }

    /// The team (id, name) when this is a team group.
    pub fn team(&self) -> Option<(i64, String)> {
        match self {
            Place::TeamGroup { team_id, team_name } => Some((*team_id, team_name.clone())),
            _ => None,
        }
    }
}

/// A person as the bot has seen them.
#[derive(Clone, Debug, FromRow)]
pub struct Person {
    pub user_id: i64,
    pub first_name: String,
    pub last_name: Option<String>,
    pub username: Option<String>,
    pub language_code: Option<String>,
    pub started_private: bool,
}

impl Person {
    pub fn display_name(&self) -> String {
        match &self.last_name {
            Some(last) if !last.is_empty() => format!("{} {last}", self.first_name),
            _ => self.first_name.clone(),
        }
    }

    /// A mention that notifies them (HTML).
    pub fn mention(&self) -> String {
        crate::telegram::html::mention(self.user_id, &self.display_name(), self.username.as_deref())
    }

    /// Their name for lists (HTML, does not notify).
    pub fn name_html(&self) -> String {
        crate::telegram::html::name_only(&self.display_name(), self.username.as_deref())
    }
}

/// What the bot knows of a Telegram user from one update.
pub struct SeenUser<'a> {
    pub user_id: i64,
    pub first_name: &'a str,
    pub last_name: Option<&'a str>,
    pub username: Option<&'a str>,
    pub language_code: Option<&'a str>,
}

/// Records (or refreshes) a person; `in_private` marks that they have started the bot, which
/// the bot needs before it can write to them privately.
pub async fn record_person(
    db: &SqlitePool,
    user: &SeenUser<'_>,
    in_private: bool,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO people (user_id, first_name, last_name, username, language_code, started_private, first_seen, last_seen)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (user_id) DO UPDATE SET first_name = excluded.first_name, last_name = excluded.last_name,
             username = excluded.username, language_code = excluded.language_code,
             started_private = MAX(people.started_private, excluded.started_private), last_seen = excluded.last_seen",
    )
    .bind(user.user_id)
    .bind(user.first_name)
    .bind(user.last_name)
    .bind(user.username)
    .bind(user.language_code)
    .bind(in_private)
    .bind(now)
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}

/// Records a group chat (its title and type) without touching its binding.
pub async fn record_group(
    db: &SqlitePool,
    chat_id: i64,
    chat_type: &str,
    title: Option<&str>,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO chats (chat_id, chat_type, title, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (chat_id) DO UPDATE SET chat_type = excluded.chat_type,
             title = COALESCE(excluded.title, chats.title), updated_at = excluded.updated_at",
    )
    .bind(chat_id)
    .bind(chat_type)
    .bind(title)
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}

/// Records that a person was seen in a group.
pub async fn record_member(db: &SqlitePool, chat_id: i64, user_id: i64, now: DateTime<Utc>) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO chat_members (chat_id, user_id, first_seen, last_seen) VALUES (?, ?, ?, ?)
         ON CONFLICT (chat_id, user_id) DO UPDATE SET last_seen = excluded.last_seen",
    )
    .bind(chat_id)
    .bind(user_id)
    .bind(now)
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}

#[derive(FromRow)]
struct ChatRow {
    binding: Option<String>,
    team_id: Option<i64>,
    team_name: Option<String>,
    active: bool,
}

/// What the chat is to floorbot right now.
pub async fn place(db: &SqlitePool, chat_id: i64, is_private: bool) -> sqlx::Result<Place> {
    if is_private {
        return Ok(Place::Private);
    }
    let row: Option<ChatRow> = sqlx::query_as(
        "SELECT chats.binding, chats.team_id, teams.name AS team_name, chats.active
         FROM chats LEFT JOIN teams ON teams.id = chats.team_id WHERE chats.chat_id = ?",
    )
    .bind(chat_id)
    .fetch_optional(db)
    .await?;
    Ok(match row {
        Some(ChatRow { active: true, binding: Some(binding), team_id, team_name }) => {
            match (binding.as_str(), team_id, team_name) {
                ("team", Some(team_id), Some(team_name)) => Place::TeamGroup { team_id, team_name },
                ("ops", _, _) => Place::OpsGroup,
                _ => Place::UnboundGroup,
            }
        }
        _ => Place::UnboundGroup,
    })
}

/// Whether the bot may still post in this chat (false once it was removed from a group).
pub async fn chat_is_active(db: &SqlitePool, chat_id: i64) -> sqlx::Result<bool> {
    let active: Option<bool> =
        sqlx::query_scalar("SELECT active FROM chats WHERE chat_id = ?").bind(chat_id).fetch_optional(db).await?;
    Ok(active.unwrap_or(true))
}

/// Records whether the bot may delete messages in a group.
pub async fn set_can_delete(db: &SqlitePool, chat_id: i64, may: bool) -> sqlx::Result<()> {
    sqlx::query("UPDATE chats SET can_delete = ? WHERE chat_id = ?").bind(may).bind(chat_id).execute(db).await?;
    Ok(())
}

/// Whether the bot knows it may delete messages in a group.
pub async fn can_delete(db: &SqlitePool, chat_id: i64) -> sqlx::Result<bool> {
    let may: Option<Option<bool>> =
        sqlx::query_scalar("SELECT can_delete FROM chats WHERE chat_id = ?").bind(chat_id).fetch_optional(db).await?;
    Ok(may.flatten().unwrap_or(false))
}

/// The chat's language, if someone set one with `/lang`.
pub async fn chat_language(db: &SqlitePool, chat_id: i64) -> sqlx::Result<Option<Lang>> {
    let tag: Option<Option<String>> =
        sqlx::query_scalar("SELECT language FROM chats WHERE chat_id = ?").bind(chat_id).fetch_optional(db).await?;
    Ok(tag.flatten().and_then(|tag| Lang::parse(&tag)))
}

pub async fn set_chat_language(
    db: &SqlitePool,
    chat_id: i64,
    chat_type: &str,
    lang: Lang,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO chats (chat_id, chat_type, language, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (chat_id) DO UPDATE SET language = excluded.language, updated_at = excluded.updated_at",
    )
    .bind(chat_id)
    .bind(chat_type)
    .bind(lang.tag())
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}

/// Why a group could not be bound.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BindError {
    #[error("team already has a group")]
    TeamHasAnotherGroup { title: String },
    #[error("another group is the cross-department group")]
    OpsIsAnotherGroup { title: String },
}

/// Makes the chat the group of team `name` (created if new).
pub async fn bind_team(
    db: &SqlitePool,
    chat_id: i64,
    name: &str,
    by: i64,
    now: DateTime<Utc>,
) -> anyhow::Result<Result<(), BindError>> {
    let mut transaction = crate::db::begin(db).await?;
    sqlx::query("INSERT INTO teams (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING")
        .bind(name)
        .bind(now)
        .execute(&mut *transaction)
        .await?;
    let team_id: i64 =
        sqlx::query_scalar("SELECT id FROM teams WHERE name = ?").bind(name).fetch_one(&mut *transaction).await?;
    let other: Option<Option<String>> = sqlx::query_scalar(
        "SELECT title FROM chats WHERE team_id = ? AND binding = 'team' AND active = 1 AND chat_id <> ?",
    )
    .bind(team_id)
    .bind(chat_id)
    .fetch_optional(&mut *transaction)
    .await?;
    if let Some(title) = other {
        return Ok(Err(BindError::TeamHasAnotherGroup { title: title.unwrap_or_default() }));
    }
    sqlx::query(
        "UPDATE chats SET binding = 'team', team_id = ?, active = 1, bound_by = ?, bound_at = ?, updated_at = ? WHERE chat_id = ?",
    )
    .bind(team_id)
    .bind(by)
    .bind(now)
    .bind(now)
    .bind(chat_id)
    .execute(&mut *transaction)
    .await?;
    transaction.commit().await?;
    Ok(Ok(()))
}

/// Makes the chat the cross-department group.
pub async fn bind_ops(
    db: &SqlitePool,
    chat_id: i64,
    by: i64,
    now: DateTime<Utc>,
) -> anyhow::Result<Result<(), BindError>> {
    let mut transaction = crate::db::begin(db).await?;
    let other: Option<Option<String>> =
        sqlx::query_scalar("SELECT title FROM chats WHERE binding = 'ops' AND active = 1 AND chat_id <> ?")
            .bind(chat_id)
            .fetch_optional(&mut *transaction)
            .await?;
    if let Some(title) = other {
        return Ok(Err(BindError::OpsIsAnotherGroup { title: title.unwrap_or_default() }));
    }
    sqlx::query(
        "UPDATE chats SET binding = 'ops', team_id = NULL, active = 1, bound_by = ?, bound_at = ?, updated_at = ? WHERE chat_id = ?",
    )
    .bind(by)
    .bind(now)
    .bind(now)
    .bind(chat_id)
    .execute(&mut *transaction)
    .await?;
    transaction.commit().await?;
    Ok(Ok(()))
}

/// Ends the chat's binding; returns whether it had one.
pub async fn unbind(db: &SqlitePool, chat_id: i64, now: DateTime<Utc>) -> sqlx::Result<bool> {
    let result = sqlx::query(
        "UPDATE chats SET binding = NULL, team_id = NULL, updated_at = ? WHERE chat_id = ? AND binding IS NOT NULL",
    )
    .bind(now)
    .bind(chat_id)
    .execute(db)
    .await?;
    Ok(result.rows_affected() > 0)
}

/// The bot was removed from the chat: nothing more is sent there.
pub async fn deactivate_chat(db: &SqlitePool, chat_id: i64, now: DateTime<Utc>) -> sqlx::Result<()> {
    sqlx::query("UPDATE chats SET active = 0, updated_at = ? WHERE chat_id = ?")
        .bind(now)
        .bind(chat_id)
        .execute(db)
        .await?;
    Ok(())
}

/// The bot was added (back) to a group: it starts unbound, and a supervisor binds it again.
pub async fn reactivate_chat(
    db: &SqlitePool,
    chat_id: i64,
    chat_type: &str,
    title: Option<&str>,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO chats (chat_id, chat_type, title, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (chat_id) DO UPDATE SET active = 1,
             binding = CASE WHEN chats.active = 1 THEN chats.binding ELSE NULL END,
             team_id = CASE WHEN chats.active = 1 THEN chats.team_id ELSE NULL END,
             title = COALESCE(excluded.title, chats.title), updated_at = excluded.updated_at",
    )
    .bind(chat_id)
    .bind(chat_type)
    .bind(title)
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}

/// A group was upgraded to a supergroup: its binding and everything keyed by the chat move to
/// the new id in one transaction (foreign keys cascade the update).
pub async fn migrate_chat(
    db: &SqlitePool,
    old_chat_id: i64,
    new_chat_id: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let mut transaction = crate::db::begin(db).await?;
    let old_exists: Option<i64> = sqlx::query_scalar("SELECT chat_id FROM chats WHERE chat_id = ?")
        .bind(old_chat_id)
        .fetch_optional(&mut *transaction)
        .await?;
    if old_exists.is_none() {
        return Ok(false);
    }
    // A message from the new supergroup may have arrived first and created a bare row.
    sqlx::query("DELETE FROM chats WHERE chat_id = ? AND binding IS NULL")
        .bind(new_chat_id)
        .execute(&mut *transaction)
        .await?;
    let moved = sqlx::query(
        "UPDATE OR IGNORE chats SET chat_id = ?, chat_type = 'supergroup', updated_at = ? WHERE chat_id = ?",
    )
    .bind(new_chat_id)
    .bind(now)
    .bind(old_chat_id)
    .execute(&mut *transaction)
    .await?;
    transaction.commit().await?;
    Ok(moved.rows_affected() > 0)
}

/// A team's name (empty if the team is gone).
pub async fn team_name(db: &SqlitePool, team_id: i64) -> sqlx::Result<String> {
    let name: Option<String> =
        sqlx::query_scalar("SELECT name FROM teams WHERE id = ?").bind(team_id).fetch_optional(db).await?;
    Ok(name.unwrap_or_default())
}

/// Someone's name for a message (HTML, does not notify): their recorded name, else their id.
pub async fn name_html(db: &SqlitePool, user_id: Option<i64>) -> sqlx::Result<String> {
    let Some(user_id) = user_id else { return Ok(String::new()) };
    Ok(match person(db, user_id).await? {
        Some(person) => person.name_html(),
        None => format!("<code>{user_id}</code>"),
    })
}

pub async fn team_id_by_name(db: &SqlitePool, name: &str) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar("SELECT id FROM teams WHERE name = ?").bind(name).fetch_optional(db).await
}

pub async fn person(db: &SqlitePool, user_id: i64) -> sqlx::Result<Option<Person>> {
    sqlx::query_as(
        "SELECT user_id, first_name, last_name, username, language_code, started_private FROM people WHERE user_id = ?",
    )
    .bind(user_id)
    .fetch_optional(db)
    .await
}

/// Finds someone the bot has seen by `@username` (with or without the `@`).
pub async fn person_by_username(db: &SqlitePool, username: &str) -> sqlx::Result<Option<Person>> {
    let username = username.trim().trim_start_matches('@');
    sqlx::query_as(
        "SELECT user_id, first_name, last_name, username, language_code, started_private FROM people
         WHERE username = ? COLLATE NOCASE ORDER BY last_seen DESC LIMIT 1",
    )
    .bind(username)
    .fetch_optional(db)
    .await
}

/// Everyone recorded in a chat, in order of first appearance.
pub async fn members(db: &SqlitePool, chat_id: i64) -> sqlx::Result<Vec<Person>> {
    sqlx::query_as(
        "SELECT people.user_id, people.first_name, people.last_name, people.username, people.language_code, people.started_private
         FROM chat_members JOIN people ON people.user_id = chat_members.user_id
         WHERE chat_members.chat_id = ? ORDER BY chat_members.first_seen, people.user_id",
    )
    .bind(chat_id)
    .fetch_all(db)
    .await
}

/// Roles granted by command.
pub async fn granted_roles(db: &SqlitePool, user_id: i64) -> sqlx::Result<RoleSet> {
    let names: Vec<String> =
        sqlx::query_scalar("SELECT role FROM roles WHERE user_id = ?").bind(user_id).fetch_all(db).await?;
    Ok(names.iter().filter_map(|name| Role::parse(name)).collect())
}

/// Every role the person holds: granted, listed as supervisor in the configuration, or agent
/// by being seen in a bound team group.
pub async fn roles(db: &SqlitePool, config: &Config, user_id: i64) -> sqlx::Result<RoleSet> {
    let mut roles = granted_roles(db, user_id).await?;
    if config.supervisors.contains(&user_id) {
        roles.insert(Role::Supervisor);
    }
    let in_team_group: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM chat_members JOIN chats ON chats.chat_id = chat_members.chat_id
         WHERE chat_members.user_id = ? AND chats.binding = 'team' AND chats.active = 1 LIMIT 1",
    )
    .bind(user_id)
    .fetch_optional(db)
    .await?;
    if in_team_group.is_some() {
        roles.insert(Role::Agent);
    }
    Ok(roles)
}

/// Grants a role; returns false if the person already had it.
pub async fn grant(db: &SqlitePool, user_id: i64, role: Role, by: i64, now: DateTime<Utc>) -> sqlx::Result<bool> {
    let result = sqlx::query(
        "INSERT INTO roles (user_id, role, granted_by, granted_at) VALUES (?, ?, ?, ?) ON CONFLICT (user_id, role) DO NOTHING",
    )
    .bind(user_id)
    .bind(role.as_str())
    .bind(by)
    .bind(now)
    .execute(db)
    .await?;
    Ok(result.rows_affected() > 0)
}

/// Revokes a granted role; returns false if it was not granted.
pub async fn revoke(db: &SqlitePool, user_id: i64, role: Role) -> sqlx::Result<bool> {
    let result = sqlx::query("DELETE FROM roles WHERE user_id = ? AND role = ?")
        .bind(user_id)
        .bind(role.as_str())
        .execute(db)
        .await?;
    Ok(result.rows_affected() > 0)
}

/// All supervisors in their standing order: the configuration's list first, then those granted
/// by command in the order they were granted.
pub async fn supervisors_in_order(db: &SqlitePool, config: &Config) -> sqlx::Result<Vec<i64>> {
    let mut order = config.supervisors.clone();
    let granted: Vec<i64> =
        sqlx::query_scalar("SELECT user_id FROM roles WHERE role = 'supervisor' ORDER BY id").fetch_all(db).await?;
    for user_id in granted {
        if !order.contains(&user_id) {
            order.push(user_id);
        }
    }
    Ok(order)
}

/// The supervisor on duty: whoever last took `/duty`, else the first supervisor.
pub async fn on_duty(db: &SqlitePool, config: &Config) -> sqlx::Result<Option<i64>> {
    let taken: Option<i64> = sqlx::query_scalar("SELECT user_id FROM duty WHERE id = 1").fetch_optional(db).await?;
    if taken.is_some() {
        return Ok(taken);
    }
    Ok(supervisors_in_order(db, config).await?.first().copied())
}

pub async fn take_duty(db: &SqlitePool, user_id: i64, now: DateTime<Utc>) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO duty (id, user_id, since) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET user_id = excluded.user_id, since = excluded.since",
    )
    .bind(user_id)
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}

/// When nobody is a supervisor yet, creates a fresh single-use claim code (replacing any
/// unused one) and returns it, so that the first person can take charge without knowing ids.
pub async fn prepare_claim_code(db: &SqlitePool, config: &Config, now: DateTime<Utc>) -> sqlx::Result<Option<String>> {
    if !supervisors_in_order(db, config).await?.is_empty() {
        sqlx::query("DELETE FROM claim_codes WHERE used_by IS NULL").execute(db).await?;
        return Ok(None);
    }
    let code: String = rand::rng().sample_iter(&rand::distr::Alphanumeric).take(8).map(char::from).collect();
    let mut transaction = crate::db::begin(db).await?;
    sqlx::query("DELETE FROM claim_codes WHERE used_by IS NULL").execute(&mut *transaction).await?;
    sqlx::query("INSERT INTO claim_codes (code, created_at) VALUES (?, ?)")
        .bind(&code)
        .bind(now)
        .execute(&mut *transaction)
        .await?;
    transaction.commit().await?;
    Ok(Some(code))
}

/// Uses a claim code: the sender becomes supervisor. A code works once.
pub async fn claim(db: &SqlitePool, code: &str, user_id: i64, now: DateTime<Utc>) -> sqlx::Result<bool> {
    let mut transaction = crate::db::begin(db).await?;
    let used = sqlx::query("UPDATE claim_codes SET used_by = ?, used_at = ? WHERE code = ? AND used_by IS NULL")
        .bind(user_id)
        .bind(now)
        .bind(code)
        .execute(&mut *transaction)
        .await?;
    if used.rows_affected() == 0 {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO roles (user_id, role, granted_by, granted_at) VALUES (?, 'supervisor', ?, ?) ON CONFLICT (user_id, role) DO NOTHING",
    )
    .bind(user_id)
    .bind(user_id)
    .bind(now)
    .execute(&mut *transaction)
    .await?;
    transaction.commit().await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_parse_in_both_languages() {
        assert_eq!(Role::parse("lead"), Some(Role::Lead));
        assert_eq!(Role::parse("组长"), Some(Role::Lead));
        assert_eq!(Role::parse("客服主管"), Some(Role::Supervisor));
        assert_eq!(Role::parse("运营"), Some(Role::Ops));
        assert_eq!(Role::parse("boss"), None);
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
    }
}
