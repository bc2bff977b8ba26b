//! Every user-facing text, in zh-CN (the default) and en.
//!
//! Texts live in `locales/*.ftl` (Fluent syntax) and are compiled into the binary. A message is
//! rendered as Telegram HTML: arguments are escaped unless they are explicitly marked as
//! markup built by floorbot itself ([`Arg::Html`]), so a user's name can never inject tags.

use std::fmt;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};

use crate::html::escape;

/// A language floorbot speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Lang {
    #[default]
    ZhCn,
    En,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::ZhCn, Lang::En];

    /// The tag stored in the database and shown in the configuration.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::ZhCn => "zh-CN",
            Lang::En => "en",
        }
    }

    /// The two-letter code the Bot API uses for command menus.
    pub fn telegram_code(self) -> &'static str {
        match self {
            Lang::ZhCn => "zh",
            Lang::En => "en",
        }
    }

    /// Accepts the forms people actually type: `zh`, `zh-CN`, `zh_cn`, `中文`, `en`, `en-US`…
    pub fn parse(text: &str) -> Option<Lang> {
        let lower = text.trim().to_ascii_lowercase().replace('_', "-");
        match lower.as_str() {
            "zh" | "zh-cn" | "zh-hans" | "cn" | "中文" | "简体中文" => Some(Lang::ZhCn),
            "en" | "en-us" | "en-gb" | "english" | "英文" => Some(Lang::En),
            _ => None,
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tag())
    }
}

/// One argument of a message.
#[derive(Clone, Debug)]
pub enum Arg {
    /// Text from anywhere (users, the database): escaped before it enters HTML.
    Text(String),
    /// Markup floorbot built itself (a mention link, a bold name), inserted as is.
    Html(String),
    /// A number, so that plural rules can select on it.
    Number(i64),
}

impl From<&str> for Arg {
    fn from(value: &str) -> Self {
        Arg::Text(value.to_owned())
    }
}
impl From<String> for Arg {
    fn from(value: String) -> Self {
        Arg::Text(value)
    }
}
impl From<&String> for Arg {
    fn from(value: &String) -> Self {
        Arg::Text(value.clone())
    }
}
impl From<i64> for Arg {
    fn from(value: i64) -> Self {
        Arg::Number(value)
    }
}
impl From<usize> for Arg {
    fn from(value: usize) -> Self {
        Arg::Number(i64::try_from(value).unwrap_or(i64::MAX))
    }
}
impl From<u32> for Arg {
    fn from(value: u32) -> Self {
        Arg::Number(i64::from(value))
    }
}

/// Renders a message as HTML. Arguments: the `I18n`, the language, the key (a literal), then
/// `name = value` pairs.
#[macro_export]
macro_rules! t {
    ($i18n:expr, $lang:expr, $key:literal) => {
        $i18n.html($lang, $key, &[])
    };
    ($i18n:expr, $lang:expr, $key:literal, $($name:ident = $value:expr),+ $(,)?) => {
        $i18n.html($lang, $key, &[$((stringify!($name), $crate::i18n::Arg::from($value))),+])
    };
}

/// Renders a message as plain text (popups, menus, phone calls); arguments as for `t!`.
#[macro_export]
macro_rules! tp {
    ($i18n:expr, $lang:expr, $key:literal) => {
        $i18n.plain($lang, $key, &[])
    };
    ($i18n:expr, $lang:expr, $key:literal, $($name:ident = $value:expr),+ $(,)?) => {
        $i18n.plain($lang, $key, &[$((stringify!($name), $crate::i18n::Arg::from($value))),+])
    };
}

pub const ZH_CN_SOURCE: &str = include_str!("../locales/zh-CN.ftl");
pub const EN_SOURCE: &str = include_str!("../locales/en.ftl");

/// The loaded message bundles.
pub struct I18n {
    zh_cn: FluentBundle<FluentResource>,
    en: FluentBundle<FluentResource>,
}

#[derive(Debug, thiserror::Error)]
#[error("locale {lang}: {message}")]
pub struct LocaleError {
    lang: Lang,
    message: String,
}

impl I18n {
    /// Loads the compiled-in locales. Fails only if a locale file is malformed, which the
    /// test suite rules out.
    pub fn load() -> Result<Self, LocaleError> {
        Ok(Self { zh_cn: bundle(Lang::ZhCn, ZH_CN_SOURCE)?, en: bundle(Lang::En, EN_SOURCE)? })
    }

    fn bundle(&self, lang: Lang) -> &FluentBundle<FluentResource> {
        match lang {
            Lang::ZhCn => &self.zh_cn,
            Lang::En => &self.en,
        }
    }

    pub fn has(&self, lang: Lang, key: &str) -> bool {
        self.bundle(lang).has_message(key)
    }

    /// The message as Telegram HTML, with [`Arg::Text`] arguments escaped.
    pub fn html(&self, lang: Lang, key: &str, args: &[(&str, Arg)]) -> String {
        self.render(lang, key, args, true)
    }

    /// Items joined the way the language lists them (`组长、客服` / `lead, agent`).
    pub fn list(&self, lang: Lang, items: &[String]) -> String {
        items.join(&self.plain(lang, "list-separator", &[]))
    }

    /// Alternatives joined with the language's "or" (`组长或客服主管`).
    pub fn alternatives(&self, lang: Lang, items: &[String]) -> String {
        items.join(&self.plain(lang, "or-separator", &[]))
    }

    /// The message as plain text: nothing is escaped (not for HTML messages).
    pub fn plain(&self, lang: Lang, key: &str, args: &[(&str, Arg)]) -> String {
        self.render(lang, key, args, false)
    }

    fn render(&self, lang: Lang, key: &str, args: &[(&str, Arg)], html: bool) -> String {
        let bundle = self.bundle(lang);
        let Some(pattern) = bundle.get_message(key).and_then(|message| message.value()) else {
            tracing::error!(key, %lang, "missing locale message");
            return key.to_owned();
        };
        let mut fluent_args = FluentArgs::new();
        for (name, value) in args {
            let value = match value {
                Arg::Text(text) if html => FluentValue::from(escape(text)),
                Arg::Text(text) | Arg::Html(text) => FluentValue::from(text.clone()),
                Arg::Number(number) => FluentValue::from(*number),
            };
            fluent_args.set(*name, value);
        }
        let mut errors = Vec::new();
        let text = bundle.format_pattern(pattern, Some(&fluent_args), &mut errors);
        if !errors.is_empty() {
            tracing::error!(key, %lang, ?errors, "locale message rendered with errors");
        }
        text.into_owned()
    }
}

fn bundle(lang: Lang, source: &str) -> Result<FluentBundle<FluentResource>, LocaleError> {
    let resource = FluentResource::try_new(source.to_owned()).map_err(|(_, errors)| LocaleError {
        lang,
        message: format!("{} syntax error(s), first: {:?}", errors.len(), errors.first()),
    })?;
    let language = lang.tag().parse().map_err(|error| LocaleError { lang, message: format!("{error}") })?;
    let mut bundle = FluentBundle::new_concurrent(vec![language]);
    // Unicode isolation marks would show up as stray characters in Telegram clients.
    bundle.set_use_isolating(false);
    bundle.add_resource(resource).map_err(|errors| LocaleError { lang, message: format!("{errors:?}") })?;
    Ok(bundle)
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use fluent_syntax::ast;

    use super::*;

    /// Message id → the variables it references (attributes and selectors included).
    /// Every message of a locale file with the placeholders it uses.
    pub(crate) fn variables_by_message(source: &str) -> BTreeMap<String, BTreeSet<String>> {
        let resource = fluent_syntax::parser::parse(source).expect("locale parses");
        let mut out = BTreeMap::new();
        for entry in resource.body {
            if let ast::Entry::Message(message) = entry {
                let mut variables = BTreeSet::new();
                if let Some(pattern) = &message.value {
                    collect_pattern(pattern, &mut variables);
                }
                for attribute in &message.attributes {
                    collect_pattern(&attribute.value, &mut variables);
                }
                out.insert(message.id.name.to_owned(), variables);
            }
        }
        out
    }

    fn collect_pattern(pattern: &ast::Pattern<&str>, into: &mut BTreeSet<String>) {
        for element in &pattern.elements {
            if let ast::PatternElement::Placeable { expression } = element {
                collect_expression(expression, into);
            }
        }
    }

    fn collect_expression(expression: &ast::Expression<&str>, into: &mut BTreeSet<String>) {
        match expression {
            ast::Expression::Select { selector, variants } => {
                collect_inline(selector, into);
                for variant in variants {
                    collect_pattern(&variant.value, into);
                }
            }
            ast::Expression::Inline(inline) => collect_inline(inline, into),
        }
    }

    fn collect_inline(inline: &ast::InlineExpression<&str>, into: &mut BTreeSet<String>) {
        match inline {
            ast::InlineExpression::VariableReference { id } => {
                into.insert(id.name.to_owned());
            }
            ast::InlineExpression::Placeable { expression } => collect_expression(expression, into),
            _ => {}
        }
    }

    #[test]
    fn both_locales_have_the_same_keys_and_placeholders() {
        let zh = variables_by_message(ZH_CN_SOURCE);
        let en = variables_by_message(EN_SOURCE);
        let zh_keys: BTreeSet<_> = zh.keys().collect();
        let en_keys: BTreeSet<_> = en.keys().collect();
        let only_zh: Vec<_> = zh_keys.difference(&en_keys).collect();
        let only_en: Vec<_> = en_keys.difference(&zh_keys).collect();
        assert!(only_zh.is_empty(), "keys missing in en: {only_zh:?}");
        assert!(only_en.is_empty(), "keys missing in zh-CN: {only_en:?}");
        for (key, variables) in &zh {
            assert_eq!(Some(variables), en.get(key), "placeholders differ for `{key}`");
        }
    }

    #[test]
    fn locales_load_without_errors() {
        let i18n = I18n::load().expect("locales load");
        assert!(i18n.has(Lang::ZhCn, "start-private"));
    }

    /// Every `t!`/`tp!` key written in the source exists in both locales.
    #[test]
    fn every_key_used_in_the_source_exists() {
        let i18n = I18n::load().expect("locales load");
        let mut missing = Vec::new();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut stack = vec![root];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).expect("src readable") {
                let path = entry.expect("dir entry").path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                let source = std::fs::read_to_string(&path).expect("source readable");
                for key in used_keys(&source) {
                    for lang in Lang::ALL {
                        if !i18n.has(lang, &key) {
                            missing.push(format!("{} {lang}: {key}", path.display()));
                        }
                    }
                }
            }
        }
        assert!(missing.is_empty(), "missing locale keys:\n{}", missing.join("\n"));
    }

    /// Keys written as the third argument of the two message macros.
    fn used_keys(source: &str) -> Vec<String> {
        let mut keys = Vec::new();
        for marker in ["t!(", "tp!("] {
            let mut rest = source;
            while let Some(at) = rest.find(marker) {
                let preceded_by_word = rest[..at].chars().next_back().is_some_and(|c| c.is_alphanumeric() || c == '_');
                rest = &rest[at + marker.len()..];
                if preceded_by_word {
                    continue;
                }
                let end = rest.char_indices().nth(300).map(|(at, _)| at).unwrap_or(rest.len());
                let call = &rest[..end];
                let Some(quote) = call.find('"') else { continue };
                let after = &call[quote + 1..];
                let Some(end) = after.find('"') else { continue };
                let key = &after[..end];
                if !key.is_empty() && key.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
                    keys.push(key.to_owned());
                }
            }
        }
        keys
    }

    #[test]
    fn arguments_are_escaped_in_html_but_not_in_plain_text() {
        let i18n = I18n::load().expect("locales load");
        let html = t!(i18n, Lang::En, "whoami", name = "<b>Tom & \"Jerry\"</b>", id = 5_i64, roles = "-");
        assert!(html.contains("&lt;b&gt;Tom &amp; &quot;Jerry&quot;&lt;/b&gt;"), "{html}");
        let plain = tp!(i18n, Lang::En, "whoami", name = "<b>", id = 5_i64, roles = "-");
        assert!(plain.contains("<b>"), "{plain}");
    }

    #[test]
    fn lists_and_alternatives_are_joined_as_each_language_writes_them() {
        let i18n = I18n::load().expect("locales load");
        let two = ["组长".to_owned(), "客服主管".to_owned()];
        assert_eq!(i18n.list(Lang::ZhCn, &two), "组长、客服主管");
        assert_eq!(i18n.alternatives(Lang::ZhCn, &two), "组长或客服主管");
        let two = ["lead".to_owned(), "supervisor".to_owned()];
        assert_eq!(i18n.list(Lang::En, &two), "lead, supervisor");
        assert_eq!(i18n.alternatives(Lang::En, &two), "lead or supervisor");
        assert_eq!(t!(i18n, Lang::En, "patrol-item-note", note = "<x>"), ": &lt;x&gt;");
        assert_eq!(t!(i18n, Lang::En, "patrol-item-incident", number = 3_i64), " (#3)");
    }

    #[test]
    fn language_names_people_type_are_understood() {
        assert_eq!(Lang::parse("zh"), Some(Lang::ZhCn));
        assert_eq!(Lang::parse("zh_CN"), Some(Lang::ZhCn));
        assert_eq!(Lang::parse("中文"), Some(Lang::ZhCn));
        assert_eq!(Lang::parse("EN"), Some(Lang::En));
        assert_eq!(Lang::parse("fr"), None);
    }
}
