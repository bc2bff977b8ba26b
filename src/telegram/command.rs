//! Every command floorbot understands: its name, where it works, who may use it, and how its
//! arguments parse. Parsing needs no network, so it is tested directly.
//!
//! Permissions live here, in one table, and the dispatcher checks them once before any
//! handler runs.

use crate::domain::team::{Place, Role};
use crate::i18n::Lang;

/// A command's name, as typed after the slash. Declared in the order menus and `/help` list
/// them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, strum::EnumIter, strum::EnumString, strum::IntoStaticStr)]
#[strum(serialize_all = "lowercase")]
pub enum CommandName {
    Start,
    Help,
    Patrol,
    Anomaly,
    Anomalies,
    Incident,
    Ack,
    Resolve,
    Stores,
    Store,
    Whoami,
    Team,
    Duty,
    Bind,
    Unbind,
    Role,
    Phone,
    Emergency,
    Lang,
    Claim,
}

impl CommandName {
    /// Every command, in menu order.
    pub fn all() -> impl Iterator<Item = CommandName> {
        <CommandName as strum::IntoEnumIterator>::iter()
    }

    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The command typed as `name` (exactly, as Telegram's menus send it).
    pub fn from_name(name: &str) -> Option<CommandName> {
        name.parse().ok()
    }

    /// Whether the command does anything in this kind of chat.
    pub fn works_in(self, place: &Place) -> bool {
        use CommandName::*;
        match place {
            Place::Private => matches!(
                self,
                Start
                    | Help
                    | Claim
                    | Phone
                    | Emergency
                    | Whoami
                    | Lang
                    | Duty
                    | Role
                    | Anomalies
                    | Incident
                    | Ack
                    | Resolve
            ),
            Place::UnboundGroup => matches!(self, Start | Help | Bind),
            Place::TeamGroup { .. } | Place::OpsGroup => {
                let in_any_bound_group = matches!(
                    self,
                    Start
                        | Help
                        | Bind
                        | Unbind
                        | Role
                        | Whoami
                        | Team
                        | Duty
                        | Lang
                        | Anomalies
                        | Incident
                        | Ack
                        | Resolve
                );
                in_any_bound_group || (self.team_group_only() && matches!(place, Place::TeamGroup { .. }))
            }
        }
    }

    /// Stores, reports and the patrol belong to a team: they work in its group and nowhere
    /// else.
    pub fn team_group_only(self) -> bool {
        use CommandName::*;
        matches!(self, Store | Stores | Anomaly | Patrol)
    }

    /// The roles that may use the command here with these arguments; empty means anyone.
    /// One of them is enough.
    pub fn required_roles(self, place: &Place, args: &str) -> &'static [Role] {
        use CommandName::*;
        const SUPERVISOR: &[crate::domain::team::Role] = &[crate::domain::team::Role::Supervisor];
        const LEAD_OR_SUPERVISOR: &[crate::domain::team::Role] =
            &[crate::domain::team::Role::Lead, crate::domain::team::Role::Supervisor];
        let first = args.split_whitespace().next().unwrap_or("");
        match self {
            Bind | Unbind | Role => SUPERVISOR,
            Duty if first.eq_ignore_ascii_case("who") => &[],
            Duty => SUPERVISOR,
            Emergency if first.starts_with('@') => SUPERVISOR,
            Lang if place.is_group() && !first.is_empty() => LEAD_OR_SUPERVISOR,
            Store => LEAD_OR_SUPERVISOR,
            Ack | Resolve => crate::domain::incident::RESPONDERS,
            Patrol if patrol_changes_something(first) => LEAD_OR_SUPERVISOR,
            _ => &[],
        }
    }

    /// Shown in this command menu (the list Telegram offers while typing `/`).
    pub fn in_menu(self, menu: Menu) -> bool {
        use CommandName::*;
        match menu {
            Menu::Private => matches!(
                self,
                Start | Help | Whoami | Phone | Emergency | Duty | Lang | Anomalies | Incident | Ack | Resolve
            ),
            Menu::Group => matches!(
                self,
                Help | Patrol
                    | Anomaly
                    | Anomalies
                    | Incident
                    | Ack
                    | Resolve
                    | Stores
                    | Whoami
                    | Team
                    | Duty
                    | Bind
                    | Role
                    | Lang
            ),
            // Bound already, and without a team: nothing to bind, no stores, reports or patrol.
            Menu::OpsGroup => self != Bind && self.in_menu(Menu::Group) && self.works_in(&Place::OpsGroup),
        }
    }
}

/// The command menus: one for private chats, one for groups (team groups and groups not
/// bound yet), and the cross-department group's own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Menu {
    Private,
    Group,
    OpsGroup,
}

impl Menu {
    /// The menu a chat shows.
    pub fn for_place(place: &Place) -> Menu {
        match place {
            Place::Private => Menu::Private,
            Place::OpsGroup => Menu::OpsGroup,
            Place::TeamGroup { .. } | Place::UnboundGroup => Menu::Group,
        }
    }
}

/// A message that starts with a command: `/name@bot args`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandText<'a> {
    /// Lower-cased name without the slash.
    pub name: String,
    /// The bot the command was addressed to, if written `/name@bot`.
    pub addressee: Option<&'a str>,
    /// Everything after the name, trimmed.
    pub args: &'a str,
}

/// Splits a message into a command and its arguments; `None` if it is not a command.
pub fn split_command(text: &str) -> Option<CommandText<'_>> {
    let rest = text.strip_prefix('/')?;
    let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
    let (word, args) = rest.split_at(end);
    if word.is_empty() {
        return None;
    }
    let (name, addressee) = match word.split_once('@') {
        Some((name, bot)) => (name, Some(bot)),
        None => (word, None),
    };
    if name.is_empty() || name.len() > 32 {
        return None;
    }
    Some(CommandText { name: name.to_ascii_lowercase(), addressee, args: args.trim() })
}

/// A command with its arguments checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Start,
    Help,
    Claim {
        code: String,
    },
    BindTeam {
        name: String,
    },
    BindOps,
    Unbind,
    Role {
        change: RoleChange,
        role: Role,
        target: RoleTarget,
    },
    Whoami,
    Team,
    PhoneShow,
    PhoneRemove,
    PhoneSet {
        number: String,
    },
    EmergencyShow,
    EmergencyRemove,
    EmergencySet {
        name: String,
        number: String,
    },
    EmergencyRead {
        username: String,
    },
    DutyTake,
    DutyWho,
    LangShow,
    LangSet(Lang),
    /// Commands whose handlers read their own arguments (they answer with their own usage).
    Store {
        args: String,
    },
    Stores,
    Anomaly {
        args: String,
    },
    Anomalies,
    Incident {
        args: String,
    },
    Ack {
        args: String,
    },
    Resolve {
        args: String,
    },
    Patrol {
        args: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleChange {
    Add,
    Remove,
}

/// Whose role changes: the author of the replied-to message, or an @username.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleTarget {
    Reply,
    Username(String),
}

/// Why a command's arguments were refused; each maps to a localized explanation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArgumentError {
    /// The arguments do not have the command's shape: show its usage.
    Usage,
    UnknownRole(String),
    UnknownLanguage(String),
    TeamNameTooLong,
}

impl Command {
    /// Checks the arguments of a known command.
    pub fn parse(name: CommandName, args: &str, has_reply: bool) -> Result<Command, ArgumentError> {
        let words: Vec<&str> = args.split_whitespace().collect();
        match name {
            CommandName::Start => Ok(Command::Start),
            CommandName::Help => Ok(Command::Help),
            CommandName::Whoami => Ok(Command::Whoami),
            CommandName::Team => Ok(Command::Team),
            CommandName::Unbind => Ok(Command::Unbind),
            CommandName::Claim => match words.as_slice() {
                [code] => Ok(Command::Claim { code: (*code).to_owned() }),
                _ => Err(ArgumentError::Usage),
            },
            CommandName::Bind => match words.as_slice() {
                [kind] if kind.eq_ignore_ascii_case("ops") || *kind == "运营" => Ok(Command::BindOps),
                [kind, ..] if kind.eq_ignore_ascii_case("team") || *kind == "团队" => {
                    let name = args[args.find(kind).map(|at| at + kind.len()).unwrap_or(args.len())..].trim();
                    if name.is_empty() {
                        Err(ArgumentError::Usage)
                    } else if name.chars().count() > 40 {
                        Err(ArgumentError::TeamNameTooLong)
                    } else {
                        Ok(Command::BindTeam { name: name.to_owned() })
                    }
                }
                _ => Err(ArgumentError::Usage),
            },
            CommandName::Role => {
                // `add|rm <role> [@user]`; a role's name may have several words ("team lead").
                let (change, role, target) = match words.as_slice() {
                    [change, rest @ ..] if !rest.is_empty() => match rest.split_last() {
                        Some((last, role)) if last.starts_with('@') && !role.is_empty() => {
                            (*change, role.join(" "), Some(*last))
                        }
                        _ => (*change, rest.join(" "), None),
                    },
                    _ => return Err(ArgumentError::Usage),
                };
                let change = match change.to_ascii_lowercase().as_str() {
                    "add" | "+" => RoleChange::Add,
                    "rm" | "remove" | "del" | "-" => RoleChange::Remove,
                    _ => return Err(ArgumentError::Usage),
                };
                let role = match Role::parse(&role) {
                    Some(role) => role,
                    // "lead bob": a role and a target not written as @username.
                    None if target.is_none()
                        && words.len() > 2
                        && Role::parse(&words[1..words.len() - 1].join(" ")).is_some() =>
                    {
                        return Err(ArgumentError::Usage);
                    }
                    None => return Err(ArgumentError::UnknownRole(role)),
                };
                let target = match target {
                    Some(username) if username.starts_with('@') && username.len() > 1 => {
                        RoleTarget::Username(username.trim_start_matches('@').to_owned())
                    }
                    Some(_) => return Err(ArgumentError::Usage),
                    None if has_reply => RoleTarget::Reply,
                    None => return Err(ArgumentError::Usage),
                };
                Ok(Command::Role { change, role, target })
            }
            CommandName::Phone => match words.as_slice() {
                [] => Ok(Command::PhoneShow),
                [word] if is_remove(word) => Ok(Command::PhoneRemove),
                _ => Ok(Command::PhoneSet { number: args.to_owned() }),
            },
            CommandName::Emergency => match words.as_slice() {
                [] => Ok(Command::EmergencyShow),
                [word] if is_remove(word) => Ok(Command::EmergencyRemove),
                [username] if username.starts_with('@') && username.len() > 1 => {
                    Ok(Command::EmergencyRead { username: username.trim_start_matches('@').to_owned() })
                }
                [_] => Err(ArgumentError::Usage),
                _ => {
                    // The name is the first word; the number is the rest (it may contain spaces).
                    let name = words[0];
                    let number = args[name.len()..].trim();
                    Ok(Command::EmergencySet { name: name.to_owned(), number: number.to_owned() })
                }
            },
            CommandName::Duty => match words.as_slice() {
                [] => Ok(Command::DutyTake),
                [word] if word.eq_ignore_ascii_case("who") => Ok(Command::DutyWho),
                _ => Err(ArgumentError::Usage),
            },
            CommandName::Store => Ok(Command::Store { args: args.to_owned() }),
            CommandName::Stores => Ok(Command::Stores),
            CommandName::Anomaly => Ok(Command::Anomaly { args: args.to_owned() }),
            CommandName::Anomalies => Ok(Command::Anomalies),
            CommandName::Incident => Ok(Command::Incident { args: args.to_owned() }),
            CommandName::Ack => Ok(Command::Ack { args: args.to_owned() }),
            CommandName::Resolve => Ok(Command::Resolve { args: args.to_owned() }),
            CommandName::Patrol => Ok(Command::Patrol { args: args.to_owned() }),
            CommandName::Lang => match words.as_slice() {
                [] => Ok(Command::LangShow),
                [code] => Lang::parse(code)
                    .map(Command::LangSet)
                    .ok_or_else(|| ArgumentError::UnknownLanguage((*code).to_owned())),
                _ => Err(ArgumentError::Usage),
            },
        }
    }
}

fn is_remove(word: &str) -> bool {
    matches!(word.to_ascii_lowercase().as_str(), "rm" | "remove" | "del" | "delete") || word == "删除"
}

/// The `/patrol` subcommands that change things, and so need a lead or a supervisor.
fn patrol_changes_something(first_argument: &str) -> bool {
    matches!(first_argument.to_lowercase().as_str(), "start" | "schedule" | "owner" | "step")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(name: CommandName, args: &str) -> Result<Command, ArgumentError> {
        Command::parse(name, args, false)
    }

    #[test]
    fn commands_split_into_name_addressee_and_arguments() {
        let command = split_command("/Bind@floor_bot team  Alpha ").expect("a command");
        assert_eq!(command.name, "bind");
        assert_eq!(command.addressee, Some("floor_bot"));
        assert_eq!(command.args, "team  Alpha");
        assert_eq!(split_command("hello"), None);
        assert_eq!(split_command("/"), None);
        assert_eq!(split_command("/ x"), None);
    }

    #[test]
    fn bind_accepts_team_names_with_spaces_and_the_ops_group() {
        assert_eq!(parse(CommandName::Bind, "team 天猫 一组"), Ok(Command::BindTeam { name: "天猫 一组".into() }));
        assert_eq!(parse(CommandName::Bind, "ops"), Ok(Command::BindOps));
        assert_eq!(parse(CommandName::Bind, "team"), Err(ArgumentError::Usage));
        assert_eq!(parse(CommandName::Bind, ""), Err(ArgumentError::Usage));
        assert_eq!(parse(CommandName::Bind, "everything"), Err(ArgumentError::Usage));
    }

    #[test]
    fn role_needs_a_reply_or_a_username() {
        assert_eq!(
            parse(CommandName::Role, "add lead @bob"),
            Ok(Command::Role { change: RoleChange::Add, role: Role::Lead, target: RoleTarget::Username("bob".into()) })
        );
        assert_eq!(parse(CommandName::Role, "add lead"), Err(ArgumentError::Usage));
        assert_eq!(
            Command::parse(CommandName::Role, "rm 运营", true),
            Ok(Command::Role { change: RoleChange::Remove, role: Role::Ops, target: RoleTarget::Reply })
        );
        assert_eq!(parse(CommandName::Role, "add boss @bob"), Err(ArgumentError::UnknownRole("boss".into())));
        assert_eq!(parse(CommandName::Role, "grant lead @bob"), Err(ArgumentError::Usage));
        assert_eq!(parse(CommandName::Role, "add lead bob"), Err(ArgumentError::Usage));
        assert_eq!(
            parse(CommandName::Role, "add team lead @bob"),
            Ok(Command::Role { change: RoleChange::Add, role: Role::Lead, target: RoleTarget::Username("bob".into()) })
        );
        assert_eq!(
            Command::parse(CommandName::Role, "add 公关/法务", true),
            Ok(Command::Role { change: RoleChange::Add, role: Role::Pr, target: RoleTarget::Reply })
        );
    }

    #[test]
    fn phone_and_emergency_forms() {
        assert_eq!(parse(CommandName::Phone, ""), Ok(Command::PhoneShow));
        assert_eq!(parse(CommandName::Phone, "rm"), Ok(Command::PhoneRemove));
        assert_eq!(parse(CommandName::Phone, "+86 138"), Ok(Command::PhoneSet { number: "+86 138".into() }));
        assert_eq!(
            parse(CommandName::Emergency, "妈妈 +86 138 0013 8000"),
            Ok(Command::EmergencySet { name: "妈妈".into(), number: "+86 138 0013 8000".into() })
        );
        assert_eq!(parse(CommandName::Emergency, "@bob"), Ok(Command::EmergencyRead { username: "bob".into() }));
        assert_eq!(parse(CommandName::Emergency, "bob"), Err(ArgumentError::Usage));
    }

    #[test]
    fn duty_and_lang_forms() {
        assert_eq!(parse(CommandName::Duty, ""), Ok(Command::DutyTake));
        assert_eq!(parse(CommandName::Duty, "who"), Ok(Command::DutyWho));
        assert_eq!(parse(CommandName::Duty, "now please"), Err(ArgumentError::Usage));
        assert_eq!(parse(CommandName::Lang, "en"), Ok(Command::LangSet(Lang::En)));
        assert_eq!(parse(CommandName::Lang, "fr"), Err(ArgumentError::UnknownLanguage("fr".into())));
    }

    #[test]
    fn permissions_depend_on_the_arguments() {
        let group = Place::OpsGroup;
        assert_eq!(CommandName::Duty.required_roles(&group, "who"), &[] as &[Role]);
        assert_eq!(CommandName::Duty.required_roles(&group, ""), &[Role::Supervisor]);
        assert_eq!(CommandName::Emergency.required_roles(&Place::Private, "@bob"), &[Role::Supervisor]);
        assert_eq!(CommandName::Emergency.required_roles(&Place::Private, "mum +86"), &[] as &[Role]);
        assert_eq!(CommandName::Lang.required_roles(&Place::Private, "en"), &[] as &[Role]);
        assert_eq!(CommandName::Lang.required_roles(&group, "en"), &[Role::Lead, Role::Supervisor]);
    }

    #[test]
    fn every_menu_offers_only_commands_that_work_there() {
        let team = Place::TeamGroup { team_id: 1, team_name: "天猫一组".into() };
        for (menu, place) in [(Menu::Private, Place::Private), (Menu::Group, team), (Menu::OpsGroup, Place::OpsGroup)] {
            for name in CommandName::all().filter(|name| name.in_menu(menu)) {
                assert!(name.works_in(&place), "{name:?} is in the {menu:?} menu but does not work there");
            }
        }
        let menu = |menu| CommandName::all().filter(|name| name.in_menu(menu)).collect::<Vec<_>>();
        use CommandName::*;
        assert!(menu(Menu::Group).contains(&Patrol));
        for name in [Incident, Ack, Resolve] {
            assert!(menu(Menu::Private).contains(&name), "{name:?}");
        }
        for name in [Anomaly, Stores, Store, Patrol, Bind] {
            assert!(!menu(Menu::OpsGroup).contains(&name), "{name:?}");
        }
        assert!(menu(Menu::OpsGroup).contains(&Ack));
    }

    #[test]
    fn unbound_groups_answer_only_bind_help_and_start() {
        let allowed: Vec<_> = CommandName::all().filter(|c| c.works_in(&Place::UnboundGroup)).collect();
        assert_eq!(allowed, vec![CommandName::Start, CommandName::Help, CommandName::Bind]);
    }
}
