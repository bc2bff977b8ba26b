//! The floor's structure as values: the roles a person holds, what a chat is to floorbot, and
//! a person as the bot has seen them.

use std::collections::BTreeSet;

use strum::{Display, EnumIter, EnumString, IntoEnumIterator, IntoStaticStr};

use crate::i18n::Lang;

/// What a person may do on the floor. A person may hold several. The English names are
/// stored and typed; the names messages show (`role-*` in both locales) and the words a
/// Chinese floor uses parse too.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Display, EnumString, EnumIter, IntoStaticStr, sqlx::Type,
)]
#[strum(serialize_all = "snake_case", ascii_case_insensitive)]
#[sqlx(rename_all = "snake_case")]
pub enum Role {
    #[strum(to_string = "agent", serialize = "客服")]
    Agent,
    #[strum(to_string = "lead", serialize = "team lead", serialize = "组长")]
    Lead,
    #[strum(to_string = "supervisor", serialize = "主管", serialize = "客服主管")]
    Supervisor,
    #[strum(to_string = "ops", serialize = "operations", serialize = "运营")]
    Ops,
    #[strum(to_string = "it")]
    It,
    #[strum(
        to_string = "admin",
        serialize = "administration",
        serialize = "行政",
        serialize = "综合管理",
        serialize = "综合管理部"
    )]
    Admin,
    #[strum(
        to_string = "pr",
        serialize = "pr/legal",
        serialize = "公关",
        serialize = "法务",
        serialize = "公关法务",
        serialize = "公关/法务"
    )]
    Pr,
}

impl Role {
    /// Accepts the English names, the names messages show and the words a Chinese floor uses;
    /// spaces between words do not matter ("team  lead").
    pub fn parse(text: &str) -> Option<Role> {
        text.split_whitespace().collect::<Vec<_>>().join(" ").parse().ok()
    }

    /// The name stored in the database and typed in commands.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn all() -> impl Iterator<Item = Role> {
        Role::iter()
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
#[derive(Clone, Debug)]
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
        crate::html::mention(self.user_id, &self.display_name(), self.username.as_deref())
    }

    /// Their name for lists (HTML, does not notify).
    pub fn name_html(&self) -> String {
        crate::html::name_only(&self.display_name(), self.username.as_deref())
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

impl SeenUser<'_> {
    /// First and last name, as Telegram shows them.
    pub fn display_name(&self) -> String {
        match self.last_name {
            Some(last) if !last.is_empty() => format!("{} {last}", self.first_name),
            _ => self.first_name.to_owned(),
        }
    }
}

/// Why a group could not be bound.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BindError {
    #[error("team already has a group")]
    TeamHasAnotherGroup { team: String, title: String },
    #[error("another group is the cross-department group")]
    OpsIsAnotherGroup { title: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_parse_in_both_languages() {
        assert_eq!(Role::parse("lead"), Some(Role::Lead));
        assert_eq!(Role::parse("LEAD"), Some(Role::Lead));
        assert_eq!(Role::parse("组长"), Some(Role::Lead));
        assert_eq!(Role::parse("客服主管"), Some(Role::Supervisor));
        assert_eq!(Role::parse("运营"), Some(Role::Ops));
        assert_eq!(Role::parse("boss"), None);
        for role in Role::all() {
            assert_eq!(Role::parse(role.as_str()), Some(role));
            assert_eq!(role.to_string(), role.as_str());
        }
    }

    #[test]
    fn every_role_name_shown_parses_back() {
        let i18n = crate::i18n::I18n::load().expect("locales load");
        for lang in Lang::ALL {
            for role in Role::all() {
                assert_eq!(Role::parse(&role.label(&i18n, lang)), Some(role), "{lang}: {role}");
            }
        }
        assert_eq!(Role::parse("Team  Lead"), Some(Role::Lead));
    }
}
