//! Store accounts (店铺): which platform, which name, which team covers it. Stores are what
//! anomalies are reported against.

use strum::{Display, EnumIter, EnumString, IntoEnumIterator, IntoStaticStr};

use crate::i18n::{I18n, Lang};
use crate::{t, tp};

/// The platforms a store may be on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Display, EnumString, EnumIter, IntoStaticStr, sqlx::Type)]
#[strum(serialize_all = "snake_case", ascii_case_insensitive)]
#[sqlx(rename_all = "snake_case")]
pub enum Platform {
    #[strum(to_string = "taobao", serialize = "淘宝")]
    Taobao,
    #[strum(to_string = "tmall", serialize = "天猫")]
    Tmall,
    #[strum(to_string = "jd", serialize = "京东")]
    Jd,
    #[strum(to_string = "pdd", serialize = "pinduoduo", serialize = "拼多多")]
    Pdd,
    #[strum(to_string = "douyin", serialize = "抖音")]
    Douyin,
    #[strum(to_string = "other", serialize = "其他")]
    Other,
}

impl Platform {
    pub fn all() -> impl Iterator<Item = Platform> {
        Platform::iter()
    }

    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// English names and the Chinese ones a floor uses.
    pub fn parse(text: &str) -> Option<Platform> {
        text.trim().parse().ok()
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

#[derive(Clone, Debug)]
pub struct Store {
    pub id: i64,
    pub team_id: i64,
    pub platform: Platform,
    pub name: String,
}

impl Store {
    /// "天猫 · 旗舰店" — platform and name, for messages (plain text).
    pub fn label(&self, i18n: &I18n, lang: Lang) -> String {
        tp!(i18n, lang, "store-label", platform = self.platform.label(i18n, lang), name = self.name.as_str())
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn store(id: i64, name: &str) -> Store {
        Store { id, team_id: 1, platform: Platform::Tmall, name: name.into() }
    }

    #[test]
    fn platforms_parse_in_both_languages() {
        assert_eq!(Platform::parse("天猫"), Some(Platform::Tmall));
        assert_eq!(Platform::parse("PDD"), Some(Platform::Pdd));
        assert_eq!(Platform::parse("amazon"), None);
    }

    #[test]
    fn every_platform_name_shown_parses_back() {
        let i18n = I18n::load().expect("locales load");
        for lang in Lang::ALL {
            for platform in Platform::all() {
                assert_eq!(Platform::parse(&platform.label(&i18n, lang)), Some(platform), "{lang}: {platform}");
            }
        }
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
