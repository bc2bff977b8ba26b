//! Store accounts (店铺): which platform, which name, which team covers it. Stores are what
//! anomalies are reported against. `/store add|rm`, `/stores`.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, SqlitePool};

use crate::i18n::{I18n, Lang};
use crate::telegram::Request;
use crate::{t, tp};

/// The platforms a store may be on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Platform {
    Taobao,
    Tmall,
    Jd,
    Pdd,
    Douyin,
    Other,
}

impl Platform {
    pub const ALL: [Platform; 6] =
        [Platform::Taobao, Platform::Tmall, Platform::Jd, Platform::Pdd, Platform::Douyin, Platform::Other];

    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Taobao => "taobao",
            Platform::Tmall => "tmall",
            Platform::Jd => "jd",
            Platform::Pdd => "pdd",
            Platform::Douyin => "douyin",
            Platform::Other => "other",
        }
    }

    /// English names and the Chinese ones a floor uses.
    pub fn parse(text: &str) -> Option<Platform> {
        Some(match text.trim().to_lowercase().as_str() {
            "taobao" | "淘宝" => Platform::Taobao,
            "tmall" | "天猫" => Platform::Tmall,
            "jd" | "京东" => Platform::Jd,
            "pdd" | "pinduoduo" | "拼多多" => Platform::Pdd,
            "douyin" | "抖音" => Platform::Douyin,
            "other" | "其他" => Platform::Other,
            _ => return None,
        })
    }

    pub fn label(self, i18n: &I18n, lang: Lang) -> String {
        match self {
            Platform::Taobao => tp!(i18n, lang, "platform-taobao"),
            Platform::Tmall => tp!(i18n, lang, "platform-tmall"),
            Platform::Jd => tp!(i18n, lang, "platform-jd"),
            Platform::Pdd => tp!(i18n, lang, "platform-pdd"),
            Platform::Douyin => tp!(i18n, lang, "platform-douyin"),
            Platform::Other => tp!(i18n, lang, "platform-other"),
        }
    }
}

#[derive(Clone, Debug, FromRow)]
pub struct Store {
    pub id: i64,
    pub team_id: i64,
    pub platform: String,
    pub name: String,
}

impl Store {
    pub fn platform(&self) -> Platform {
        Platform::parse(&self.platform).unwrap_or(Platform::Other)
    }

    /// "天猫 · 旗舰店" — platform and name, for messages (plain text).
    pub fn label(&self, i18n: &I18n, lang: Lang) -> String {
        format!("{} · {}", self.platform().label(i18n, lang), self.name)
    }
}

/// Adds a store to a team; `false` if the team already has a store by that name.
pub async fn add(
    db: &SqlitePool,
    team_id: i64,
    platform: Platform,
    name: &str,
    by: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let result = sqlx::query(
        "INSERT INTO stores (team_id, platform, name, created_by, created_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT DO NOTHING",
    )
    .bind(team_id)
    .bind(platform.as_str())
    .bind(name)
    .bind(by)
    .bind(now)
    .execute(db)
    .await?;
    Ok(result.rows_affected() > 0)
}

/// Retires a store (its past incidents keep pointing at it); `false` if there was none.
pub async fn remove(db: &SqlitePool, team_id: i64, name: &str) -> sqlx::Result<bool> {
    let result = sqlx::query("UPDATE stores SET active = 0 WHERE team_id = ? AND name = ? AND active = 1")
        .bind(team_id)
        .bind(name)
        .execute(db)
        .await?;
    Ok(result.rows_affected() > 0)
}

pub async fn list(db: &SqlitePool, team_id: i64) -> sqlx::Result<Vec<Store>> {
    sqlx::query_as("SELECT id, team_id, platform, name FROM stores WHERE team_id = ? AND active = 1 ORDER BY id")
        .bind(team_id)
        .fetch_all(db)
        .await
}

pub async fn by_id(db: &SqlitePool, id: i64) -> sqlx::Result<Option<Store>> {
    sqlx::query_as("SELECT id, team_id, platform, name FROM stores WHERE id = ?").bind(id).fetch_optional(db).await
}

/// The label of a store by id, for messages about something linked to it ("" for none).
pub async fn label_of(db: &SqlitePool, i18n: &I18n, lang: Lang, store_id: Option<i64>) -> sqlx::Result<String> {
    Ok(match store_id {
        Some(id) => by_id(db, id).await?.map(|store| store.label(i18n, lang)).unwrap_or_default(),
        None => String::new(),
    })
}

/// Finds the team's store whose name starts the text (longest name first, so "旗舰店二店"
/// wins over "旗舰店"); returns it with the rest of the text.
pub fn match_prefix<'a>(stores: &[Store], text: &'a str) -> Option<(Store, &'a str)> {
    let mut sorted: Vec<&Store> = stores.iter().collect();
    sorted.sort_by_key(|store| std::cmp::Reverse(store.name.chars().count()));
    for store in sorted {
        let name = store.name.as_str();
        if let Some(head) = text.get(..name.len())
            && head.to_lowercase() == name.to_lowercase()
        {
            let rest = &text[name.len()..];
            if rest.is_empty() || rest.starts_with(char::is_whitespace) {
                return Some((store.clone(), rest.trim_start()));
            }
        }
    }
    None
}

/// The team's stores as a list for messages (HTML).
pub fn render_list(i18n: &I18n, lang: Lang, stores: &[Store]) -> String {
    stores
        .iter()
        .map(|store| t!(i18n, lang, "store-line", store = store.label(i18n, lang)))
        .collect::<Vec<_>>()
        .join("\n")
}

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
                let known = Platform::ALL.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(", ");
                request.reply(&t!(i18n, lang, "store-unknown-platform", given = platform, known = known)).await?;
                return Ok(());
            };
            if name.chars().count() > 40 {
                t!(i18n, lang, "store-name-too-long")
            } else if add(request.db(), team_id, platform_value, name, request.caller.user_id, request.now()).await? {
                let label = format!("{} · {name}", platform_value.label(i18n, lang));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn store(id: i64, name: &str) -> Store {
        Store { id, team_id: 1, platform: "tmall".into(), name: name.into() }
    }

    #[test]
    fn platforms_parse_in_both_languages() {
        assert_eq!(Platform::parse("天猫"), Some(Platform::Tmall));
        assert_eq!(Platform::parse("PDD"), Some(Platform::Pdd));
        assert_eq!(Platform::parse("amazon"), None);
    }

    #[test]
    fn the_longest_store_name_that_starts_the_text_wins() {
        let stores = [store(1, "旗舰店"), store(2, "旗舰店 二店"), store(3, "Outlet")];
        let (found, rest) = match_prefix(&stores, "旗舰店 二店 price 标错").expect("match");
        assert_eq!((found.id, rest), (2, "price 标错"));
        let (found, rest) = match_prefix(&stores, "outlet 价格 x").expect("case-insensitive");
        assert_eq!((found.id, rest), (3, "价格 x"));
        assert!(match_prefix(&stores, "旗舰店铺 price").is_none(), "a name must end at a word boundary");
        assert!(match_prefix(&stores, "unknown price").is_none());
    }
}
