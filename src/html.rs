//! Telegram HTML: escaping, mentions, and splitting long messages.
//!
//! Every string that did not come from floorbot's own locale files goes through [`escape`]
//! before it is placed in a message. Messages longer than Telegram's limit are split at line
//! breaks into several messages, never cut, and tags open at a split are closed and reopened.

/// Telegram's limit for one message's text, counted after entity parsing.
pub const MESSAGE_LIMIT: usize = 4096;

/// Escapes the three characters Telegram's HTML parser treats specially, plus `"` for
/// attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            other => out.push(other),
        }
    }
    out
}

/// A person as they appear in a message: `@username` when they have one (Telegram turns it
/// into a mention), otherwise a link by user id (which also notifies them).
pub fn mention(user_id: i64, display_name: &str, username: Option<&str>) -> String {
    match username.filter(|name| !name.is_empty()) {
        Some(username) => format!("@{}", escape(username)),
        None => format!("<a href=\"tg://user?id={user_id}\">{}</a>", escape(display_name)),
    }
}

/// A person's name without notifying them (for lists and records).
pub fn name_only(display_name: &str, username: Option<&str>) -> String {
    match username.filter(|name| !name.is_empty()) {
        Some(username) => format!("{} (@{})", escape(display_name), escape(username)),
        None => escape(display_name),
    }
}

/// The length Telegram counts: UTF-16 code units of the text after entities are parsed.
pub fn visible_length(html: &str) -> usize {
    tokens(html)
        .map(|token| match token {
            Token::Tag { .. } => 0,
            Token::Entity(_) => 1,
            Token::Char(character) => character.len_utf16(),
        })
        .sum()
}

/// Splits an HTML message into parts of at most `limit` visible characters each, preferring
/// line breaks, then spaces, then any character. Tags open at a split are closed at the end
/// of the part and reopened at the start of the next, so every part is valid on its own.
pub fn split(html: &str, limit: usize) -> Vec<String> {
    if visible_length(html) <= limit {
        return vec![html.to_owned()];
    }
    let all: Vec<Token<'_>> = tokens(html).collect();
    let mut parts = Vec::new();
    let mut start = 0;
    let mut reopen: Vec<OpenTag<'_>> = Vec::new();
    while start < all.len() {
        // Find the furthest token index we may include, and the best break point before it.
        let mut open = reopen.clone();
        let mut used = 0;
        let mut end = start;
        let mut last_newline = None;
        let mut last_space = None;
        while end < all.len() {
            let cost = all[end].visible();
            if used + cost > limit {
                break;
            }
            used += cost;
            match &all[end] {
                Token::Tag { name, closing: false, raw } => open.push(OpenTag { name, raw }),
                Token::Tag { closing: true, .. } => {
                    open.pop();
                }
                Token::Char('\n') => last_newline = Some((end + 1, open.clone())),
                Token::Char(' ') => last_space = Some((end + 1, open.clone())),
                _ => {}
            }
            end += 1;
        }
        let (cut, open_at_cut) = if end >= all.len() {
            (end, open)
        } else if let Some(found) = last_newline.or(last_space) {
            found
        } else {
            (end.max(start + 1), open)
        };
        let mut part = String::new();
        for tag in &reopen {
            part.push_str(tag.raw);
        }
        for token in &all[start..cut] {
            token.write(&mut part);
        }
        for tag in open_at_cut.iter().rev() {
            part.push_str("</");
            part.push_str(tag.name);
            part.push('>');
        }
        let trimmed = part.trim_end_matches('\n').to_owned();
        if !trimmed.trim().is_empty() {
            parts.push(trimmed);
        }
        reopen = open_at_cut;
        start = cut;
    }
    parts
}

#[derive(Clone)]
struct OpenTag<'a> {
    name: &'a str,
    raw: &'a str,
}

enum Token<'a> {
    Tag { name: &'a str, closing: bool, raw: &'a str },
    Entity(&'a str),
    Char(char),
}

impl Token<'_> {
    fn visible(&self) -> usize {
        match self {
            Token::Tag { .. } => 0,
            Token::Entity(_) => 1,
            Token::Char(character) => character.len_utf16(),
        }
    }

    fn write(&self, out: &mut String) {
        match self {
            Token::Tag { raw, .. } | Token::Entity(raw) => out.push_str(raw),
            Token::Char(character) => out.push(*character),
        }
    }
}

/// Tokenises floorbot's own HTML (tags and entities it wrote, escaped text in between).
fn tokens(html: &str) -> impl Iterator<Item = Token<'_>> {
    let mut rest = html;
    std::iter::from_fn(move || {
        let first = rest.chars().next()?;
        if first == '<'
            && let Some(end) = rest.find('>')
        {
            let raw = &rest[..=end];
            rest = &rest[end + 1..];
            let inner = raw.trim_start_matches('<').trim_end_matches('>');
            let closing = inner.starts_with('/');
            let name = inner.trim_start_matches('/').split([' ', '\t', '\n']).next().unwrap_or("");
            return Some(Token::Tag { name, closing, raw });
        }
        if first == '&'
            && let Some(end) = rest.find(';')
            && end <= 10
        {
            let raw = &rest[..=end];
            rest = &rest[end + 1..];
            return Some(Token::Entity(raw));
        }
        rest = &rest[first.len_utf8()..];
        Some(Token::Char(first))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_neutralises_markup() {
        assert_eq!(escape("<b>Tom & \"Jerry\"</b>"), "&lt;b&gt;Tom &amp; &quot;Jerry&quot;&lt;/b&gt;");
    }

    #[test]
    fn mention_uses_username_or_a_link_by_id() {
        assert_eq!(mention(42, "Tom", Some("tom")), "@tom");
        assert_eq!(mention(42, "<Tom>", None), "<a href=\"tg://user?id=42\">&lt;Tom&gt;</a>");
    }

    #[test]
    fn visible_length_counts_entities_once_and_ignores_tags() {
        assert_eq!(visible_length("<b>a&amp;b</b>"), 3);
        assert_eq!(visible_length("客服"), 2);
        assert_eq!(visible_length("😀"), 2);
    }

    #[test]
    fn short_messages_are_not_split() {
        assert_eq!(split("hello", 10), vec!["hello".to_owned()]);
    }

    #[test]
    fn long_messages_split_at_line_breaks_and_keep_everything() {
        let lines: Vec<String> = (0..50).map(|n| format!("line {n:02} &amp; more")).collect();
        let html = lines.join("\n");
        let parts = split(&html, 100);
        assert!(parts.len() > 1);
        for part in &parts {
            assert!(visible_length(part) <= 100, "{part}");
        }
        let rejoined = parts.join("\n");
        assert_eq!(rejoined, html);
    }

    #[test]
    fn tags_open_at_a_split_are_closed_and_reopened() {
        let html = format!("<b>{}</b>", "word ".repeat(40));
        let parts = split(&html, 50);
        assert!(parts.len() > 1);
        for part in &parts {
            assert!(part.starts_with("<b>"), "{part}");
            assert!(part.ends_with("</b>"), "{part}");
        }
    }

    #[test]
    fn a_line_without_spaces_is_split_anywhere_but_not_inside_an_entity() {
        let html = "&amp;".repeat(30);
        let parts = split(&html, 7);
        assert_eq!(parts.len(), 5);
        assert!(parts.iter().all(|part| part.ends_with(';')));
    }
}
