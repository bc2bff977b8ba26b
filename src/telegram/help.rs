//! `/start` and `/help`, and the per-command texts they and the command menus share.

use super::command::CommandName;
use super::context::Request;
use crate::domain::team::Place;
use crate::i18n::{Arg, I18n, Lang};
use crate::{t, tp};

/// One line describing what a command does (plain text: used in menus too).
pub fn describe(i18n: &I18n, lang: Lang, name: CommandName) -> String {
    match name {
        CommandName::Start => tp!(i18n, lang, "cmd-start"),
        CommandName::Help => tp!(i18n, lang, "cmd-help"),
        CommandName::Claim => tp!(i18n, lang, "cmd-claim"),
        CommandName::Bind => tp!(i18n, lang, "cmd-bind"),
        CommandName::Unbind => tp!(i18n, lang, "cmd-unbind"),
        CommandName::Role => tp!(i18n, lang, "cmd-role"),
        CommandName::Whoami => tp!(i18n, lang, "cmd-whoami"),
        CommandName::Team => tp!(i18n, lang, "cmd-team"),
        CommandName::Phone => tp!(i18n, lang, "cmd-phone"),
        CommandName::Emergency => tp!(i18n, lang, "cmd-emergency"),
        CommandName::Duty => tp!(i18n, lang, "cmd-duty"),
        CommandName::Lang => tp!(i18n, lang, "cmd-lang"),
        CommandName::Store => tp!(i18n, lang, "cmd-store"),
        CommandName::Stores => tp!(i18n, lang, "cmd-stores"),
        CommandName::Anomaly => tp!(i18n, lang, "cmd-anomaly"),
        CommandName::Anomalies => tp!(i18n, lang, "cmd-anomalies"),
        CommandName::Incident => tp!(i18n, lang, "cmd-incident"),
        CommandName::Ack => tp!(i18n, lang, "cmd-ack"),
        CommandName::Resolve => tp!(i18n, lang, "cmd-resolve"),
        CommandName::Patrol => tp!(i18n, lang, "cmd-patrol"),
    }
}

/// How to write a command (HTML, its placeholders escaped).
pub fn usage(i18n: &I18n, lang: Lang, name: CommandName) -> String {
    match name {
        CommandName::Start => t!(i18n, lang, "usage-start"),
        CommandName::Help => t!(i18n, lang, "usage-help"),
        CommandName::Claim => t!(i18n, lang, "usage-claim"),
        CommandName::Bind => t!(i18n, lang, "usage-bind"),
        CommandName::Unbind => t!(i18n, lang, "usage-unbind"),
        CommandName::Role => t!(i18n, lang, "usage-role"),
        CommandName::Whoami => t!(i18n, lang, "usage-whoami"),
        CommandName::Team => t!(i18n, lang, "usage-team"),
        CommandName::Phone => t!(i18n, lang, "usage-phone"),
        CommandName::Emergency => t!(i18n, lang, "usage-emergency"),
        CommandName::Duty => t!(i18n, lang, "usage-duty"),
        CommandName::Lang => t!(i18n, lang, "usage-lang"),
        CommandName::Store => t!(i18n, lang, "usage-store"),
        CommandName::Stores => t!(i18n, lang, "usage-stores"),
        CommandName::Anomaly => t!(i18n, lang, "usage-anomaly"),
        CommandName::Anomalies => t!(i18n, lang, "usage-anomalies"),
        CommandName::Incident => t!(i18n, lang, "usage-incident"),
        CommandName::Ack => t!(i18n, lang, "usage-ack"),
        CommandName::Resolve => t!(i18n, lang, "usage-resolve"),
        CommandName::Patrol => t!(i18n, lang, "usage-patrol"),
    }
}

/// Whether the caller could use some form of the command here.
fn may_use(request: &Request<'_>, name: CommandName) -> bool {
    if !name.works_in(&request.place) {
        return false;
    }
    // Some commands have forms for everyone and forms for some roles (`/duty who`, `/duty`);
    // the bare form of `/lang` only shows the setting, so it does not count.
    ["x", "who", "@x"].iter().any(|args| {
        let required = name.required_roles(&request.place, args);
        required.is_empty() || request.caller.roles.any_of(required)
    })
}

pub async fn start(request: &Request<'_>) -> anyhow::Result<()> {
    let i18n = request.i18n();
    let text = match &request.place {
        Place::Private => t!(i18n, request.lang, "start-private", name = request.caller.name.as_str()),
        Place::UnboundGroup => t!(i18n, request.lang, "start-unbound-group"),
        Place::TeamGroup { team_name, .. } => t!(i18n, request.lang, "start-team-group", team = team_name.as_str()),
        Place::OpsGroup => t!(i18n, request.lang, "start-ops-group"),
    };
    request.reply(&text).await?;
    Ok(())
}

pub async fn help(request: &Request<'_>) -> anyhow::Result<()> {
    let i18n = request.i18n();
    let lang = request.lang;
    let mut text = match &request.place {
        Place::UnboundGroup => t!(i18n, lang, "help-header-unbound"),
        _ => t!(i18n, lang, "help-header"),
    };
    for name in CommandName::all() {
        if name == CommandName::Claim || !may_use(request, name) {
            continue;
        }
        let usage = usage(i18n, lang, name);
        let description = describe(i18n, lang, name);
        // A usage of several lines reads better under its description than before it.
        let line = if usage.contains('\n') {
            t!(i18n, lang, "help-block", usage = Arg::Html(usage), description = description)
        } else {
            t!(i18n, lang, "help-line", usage = Arg::Html(usage), description = description)
        };
        text.push('\n');
        text.push_str(&line);
    }
    request.reply(&text).await?;
    Ok(())
}
