//! `/store add|rm` and `/stores`: the team's store accounts.

use crate::db::stores::{add, list, remove};
use crate::domain::store::{Platform, render_list};
use crate::telegram::context::Request;
use crate::{t, tp};

/// `/store add <platform> <name>` and `/store rm <name>`.
pub async fn change(request: &Request<'_>, args: &str) -> anyhow::Result<()> {
    let (lang, i18n) = (request.lang, request.i18n());
    let Some((team_id, team_name)) = request.place.team() else { return Ok(()) };
    let usage = || t!(i18n, lang, "usage", usage = crate::i18n::Arg::Html(t!(i18n, lang, "usage-store")));
    let Some((verb, rest)) = args.split_once(char::is_whitespace) else {
        request.reply(&usage()).await?;
        return Ok(());
    };
    let text = match verb.to_lowercase().as_str() {
        "add" | "添加" => {
            let Some((platform, name)) = rest.trim().split_once(char::is_whitespace) else {
                request.reply(&usage()).await?;
                return Ok(());
            };
            let name = name.trim();
            let Some(platform_value) = Platform::parse(platform) else {
                let names: Vec<String> = Platform::all().map(|platform| platform.label(i18n, lang)).collect();
                let known = i18n.list(lang, &names);
                request.reply(&t!(i18n, lang, "store-unknown-platform", given = platform, known = known)).await?;
                return Ok(());
            };
            if name.chars().count() > 40 {
                t!(i18n, lang, "store-name-too-long")
            } else if add(request.db(), team_id, platform_value, name, request.caller.user_id, request.now()).await? {
                let label = tp!(i18n, lang, "store-label", platform = platform_value.label(i18n, lang), name = name);
                t!(i18n, lang, "store-added", store = label, team = team_name)
            } else {
                t!(i18n, lang, "store-exists", store = name)
            }
        }
        "rm" | "remove" | "del" | "删除" => {
            let name = rest.trim();
            if remove(request.db(), team_id, name).await? {
                t!(i18n, lang, "store-removed", store = name)
            } else {
                t!(i18n, lang, "store-not-found", store = name)
            }
        }
        _ => usage(),
    };
    request.reply(&text).await?;
    Ok(())
}

/// `/stores`: the team's stores.
pub async fn show(request: &Request<'_>) -> anyhow::Result<()> {
    let (lang, i18n) = (request.lang, request.i18n());
    let Some((team_id, team_name)) = request.place.team() else { return Ok(()) };
    let stores = list(request.db(), team_id).await?;
    let text = if stores.is_empty() {
        t!(i18n, lang, "stores-none", team = team_name)
    } else {
        format!(
            "{}\n{}",
            t!(i18n, lang, "stores-header", team = team_name, count = stores.len()),
            render_list(i18n, lang, &stores)
        )
    };
    request.reply(&text).await?;
    Ok(())
}
