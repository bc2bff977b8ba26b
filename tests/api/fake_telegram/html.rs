//! Telegram's HTML formatting: parses a text the way the Bot API does, returning the text
//! as displayed, or the reason Telegram would refuse it.

/// A successfully parsed `parse_mode = "HTML"` text.
pub(super) struct Html {
    /// The text as displayed: tags removed, entities decoded.
    pub(super) text: String,
    /// Constructs Telegram accepts but silently mangles (a bare `&`, an unknown attribute,
    /// disallowed nesting, ...); almost always a bug in the sender.
    pub(super) warnings: Vec<String>,
}

struct Tag {
    name: String,
    closing: bool,
    attributes: Vec<(String, Option<String>)>,
    /// Byte offset just past the closing `>`.
    end: usize,
}

/// Parses text the way the Bot API parses HTML; `Err` holds the reason Telegram gives
/// for refusing it.
pub(super) fn parse_html(input: &str) -> Result<Html, String> {
    let mut text = String::new();
    let mut warnings = Vec::new();
    let mut open: Vec<String> = Vec::new();
    let mut pos = 0;
    while let Some(c) = input[pos..].chars().next() {
        match c {
            '<' => {
                let tag = read_tag(input, pos)?;
                if tag.closing {
                    match open.pop() {
                        Some(expected) if expected == tag.name => {}
                        Some(expected) => {
                            return Err(format!(
                                "Unmatched end tag at byte offset {pos}, expected \"</{expected}>\", found \"</{}>\"",
                                tag.name
                            ));
                        }
                        None => return Err(format!("Unexpected end tag \"</{}>\" at byte offset {pos}", tag.name)),
                    }
                } else {
                    check_start_tag(&tag, &open, pos, &mut warnings)?;
                    open.push(tag.name.clone());
                }
                pos = tag.end;
            }
            '&' => match decode_entity(&input[pos..]) {
                Some((decoded, len)) => {
                    text.push(decoded);
                    pos += len;
                }
                None => {
                    warnings.push(format!("unescaped '&' at byte offset {pos} (write &amp;)"));
                    text.push('&');
                    pos += 1;
                }
            },
            '>' => {
                warnings.push(format!("unescaped '>' at byte offset {pos} (write &gt;)"));
                text.push('>');
                pos += 1;
            }
            _ => {
                text.push(c);
                pos += c.len_utf8();
            }
        }
    }
    match open.last() {
        Some(tag) => Err(format!("Can't find end tag corresponding to start tag \"{tag}\"")),
        None => Ok(Html { text, warnings }),
    }
}

/// Reads the tag starting at `start` (which holds '<').
fn read_tag(input: &str, start: usize) -> Result<Tag, String> {
    let bytes = input.as_bytes();
    let is_name_byte = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b':');
    let skip_spaces = |mut i: usize| {
        while bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        i
    };
    let unclosed = || format!("Unclosed start tag at byte offset {start}");

    let mut i = start + 1;
    let closing = bytes.get(i) == Some(&b'/');
    if closing {
        i += 1;
    }
    let name_start = i;
    while bytes.get(i).is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'-') {
        i += 1;
    }
    if i == name_start {
        return Err(format!("Empty tag name at byte offset {start} (write &lt; for a literal '<')"));
    }
    let name = input[name_start..i].to_ascii_lowercase();
    let mut attributes = Vec::new();
    loop {
        i = skip_spaces(i);
        match bytes.get(i) {
            None => return Err(unclosed()),
            Some(b'>') => return Ok(Tag { name, closing, attributes, end: i + 1 }),
            Some(_) if closing => return Err(format!("Unexpected content in end tag at byte offset {start}")),
            Some(_) => {}
        }
        let attribute_start = i;
        while bytes.get(i).is_some_and(is_name_byte) {
            i += 1;
        }
        if i == attribute_start {
            return Err(format!("Unexpected character in tag at byte offset {i}"));
        }
        let attribute = input[attribute_start..i].to_ascii_lowercase();
        i = skip_spaces(i);
        if bytes.get(i) != Some(&b'=') {
            attributes.push((attribute, None));
            continue;
        }
        i = skip_spaces(i + 1);
        let value = match bytes.get(i) {
            Some(&quote @ (b'"' | b'\'')) => {
                let value_start = i + 1;
                let len = input[value_start..].find(char::from(quote)).ok_or_else(unclosed)?;
                i = value_start + len + 1;
                &input[value_start..value_start + len]
            }
            _ => {
                let value_start = i;
                while bytes.get(i).is_some_and(|b| !b.is_ascii_whitespace() && *b != b'>') {
                    i += 1;
                }
                &input[value_start..i]
            }
        };
        attributes.push((attribute, Some(decode_entities(value))));
    }
}

/// Enforces the Bot API's tag and nesting rules for an opening tag.
fn check_start_tag(tag: &Tag, open: &[String], offset: usize, warnings: &mut Vec<String>) -> Result<(), String> {
    let name = tag.name.as_str();
    let attribute = |key: &str| {
        tag.attributes.iter().find(|(k, _)| k == key).map(|(_, value)| value.as_deref().unwrap_or_default())
    };
    let allowed_attributes: &[&str] = match name {
        "b" | "strong" | "i" | "em" | "u" | "ins" | "s" | "strike" | "del" | "tg-spoiler" | "pre" => &[],
        "span" => {
            if attribute("class") != Some("tg-spoiler") {
                return Err(format!("Tag \"span\" must have class \"tg-spoiler\" at byte offset {offset}"));
            }
            &["class"]
        }
        "a" => {
            if attribute("href").is_none_or(str::is_empty) {
                warnings.push(format!("<a> without href at byte offset {offset}"));
            }
            &["href"]
        }
        "code" => {
            if let Some(class) = attribute("class")
                && !class.starts_with("language-")
            {
                warnings.push(format!("<code class={class:?}> at byte offset {offset}: only language-* is supported"));
            }
            &["class"]
        }
        "blockquote" => &["expandable"],
        "tg-emoji" => {
            if attribute("emoji-id").is_none_or(str::is_empty) {
                return Err(format!("Tag \"tg-emoji\" must have attribute \"emoji-id\" at byte offset {offset}"));
            }
            &["emoji-id"]
        }
        _ => return Err(format!("Unsupported start tag \"{name}\" at byte offset {offset}")),
    };
    for (key, _) in &tag.attributes {
        if !allowed_attributes.contains(&key.as_str()) {
            warnings.push(format!("unsupported attribute \"{key}\" in <{name}> at byte offset {offset}"));
        }
    }
    let inside = |outer: &str| open.iter().any(|o| o == outer);
    let misplaced = if inside("code") || inside("tg-emoji") {
        true
    } else if inside("pre") {
        // The only tag allowed in <pre> is a <code> naming the language.
        !(name == "code" && open.last().is_some_and(|parent| parent == "pre"))
    } else {
        (name == "a" && inside("a")) || (name == "blockquote" && inside("blockquote"))
    };
    if misplaced {
        let parents = open.join(">");
        warnings.push(format!("<{name}> at byte offset {offset} cannot be nested in {parents}"));
    }
    Ok(())
}

/// Decodes the entity at the start of `text` (which starts with '&'): the four named
/// entities Telegram supports and numeric ones. Returns the character and the entity's length.
fn decode_entity(text: &str) -> Option<(char, usize)> {
    // Entities are short; looking further would make long texts quadratic.
    let len = text.bytes().skip(1).take(12).position(|b| b == b';')?;
    let body = &text[1..1 + len];
    let decoded = match body {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "quot" => '"',
        _ => {
            let number = body.strip_prefix('#')?;
            let code = match number.strip_prefix(['x', 'X']) {
                Some(hex) if !hex.is_empty() && hex.len() <= 6 && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
                    u32::from_str_radix(hex, 16).ok()?
                }
                Some(_) => return None,
                None if !number.is_empty() && number.len() <= 7 && number.bytes().all(|b| b.is_ascii_digit()) => {
                    number.parse().ok()?
                }
                None => return None,
            };
            char::from_u32(code)?
        }
    };
    Some((decoded, len + 2))
}

/// Decodes entities in an attribute value, keeping anything that isn't one as is.
fn decode_entities(text: &str) -> String {
    let mut decoded = String::with_capacity(text.len());
    let mut pos = 0;
    while let Some(c) = text[pos..].chars().next() {
        match (c, decode_entity(&text[pos..])) {
            ('&', Some((entity, len))) => {
                decoded.push(entity);
                pos += len;
            }
            _ => {
                decoded.push(c);
                pos += c.len_utf8();
            }
        }
    }
    decoded
}
