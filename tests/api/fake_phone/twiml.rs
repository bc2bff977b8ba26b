//! TwiML well-formedness: a small XML check that also collects the text of each `<Say>`.

/// What the well-formedness check learned about a document.
pub(super) struct XmlDoc {
    pub(super) root: String,
    /// Text of each `<Say>` (markup inside it, such as SSML, left out), entities unescaped.
    pub(super) says: Vec<String>,
}

/// A small XML well-formedness check: one root element, balanced tags, quoted and unique
/// attributes, `&` only in entity or character references, no text outside the root.
/// DOCTYPE declarations are refused, as the bot never needs one.
pub(super) fn parse_xml(doc: &str) -> Result<XmlDoc, String> {
    let bytes = doc.as_bytes();
    let mut i = 0;
    let mut stack: Vec<&str> = Vec::new();
    let mut root: Option<String> = None;
    let mut says: Vec<String> = Vec::new();
    // Stack depth of the open <Say>, and its text so far.
    let mut say: Option<(usize, String)> = None;

    if doc.starts_with("<?xml") {
        let end = doc.find("?>").ok_or("unterminated XML declaration")?;
        i = end + 2;
    }
    while i < bytes.len() {
        let rest = &doc[i..];
        if !rest.starts_with('<') {
            let end = rest.find('<').unwrap_or(rest.len());
            let raw = &rest[..end];
            if stack.is_empty() {
                if !raw.trim().is_empty() {
                    return Err(format!("text outside the root element: {:?}", raw.trim()));
                }
            } else {
                let text = unescape(raw)?;
                if let Some((_, said)) = &mut say {
                    said.push_str(&text);
                }
            }
            i += end;
        } else if let Some(body) = rest.strip_prefix("<!--") {
            let end = body.find("-->").ok_or("unterminated comment")?;
            i += 4 + end + 3;
        } else if let Some(body) = rest.strip_prefix("<![CDATA[") {
            if stack.is_empty() {
                return Err("CDATA outside the root element".to_owned());
            }
            let end = body.find("]]>").ok_or("unterminated CDATA section")?;
            if let Some((_, said)) = &mut say {
                said.push_str(&body[..end]);
            }
            i += 9 + end + 3;
        } else if rest.starts_with("<?") {
            let end = rest.find("?>").ok_or("unterminated processing instruction")?;
            if rest.get(2..5).is_some_and(|target| target.eq_ignore_ascii_case("xml")) {
                return Err("XML declaration not at the start of the document".to_owned());
            }
            i += end + 2;
        } else if rest.starts_with("<!") {
            return Err("DOCTYPE and other declarations are not allowed".to_owned());
        } else if let Some(body) = rest.strip_prefix("</") {
            let name = xml_name(body).ok_or("closing tag without a name")?;
            let after = body[name.len()..].trim_start();
            if !after.starts_with('>') {
                return Err(format!("malformed closing tag </{name}"));
            }
            match stack.pop() {
                Some(open) if open == name => {}
                Some(open) => return Err(format!("</{name}> closes <{open}>")),
                None => return Err(format!("</{name}> without an opening tag")),
            }
            if say.as_ref().is_some_and(|(depth, _)| *depth == stack.len() + 1)
                && let Some((_, said)) = say.take()
            {
                says.push(said);
            }
            i += 2 + (body.len() - after.len()) + 1;
        } else {
            let body = &rest[1..];
            let name = xml_name(body).ok_or("'<' that does not start a tag")?;
            if stack.is_empty() && root.is_some() {
                return Err(format!("second root element <{name}>"));
            }
            let mut pos = name.len();
            let mut attributes: Vec<&str> = Vec::new();
            let self_closing = loop {
                let tail = &body[pos..];
                let trimmed = tail.trim_start_matches([' ', '\t', '\r', '\n']);
                let had_space = trimmed.len() < tail.len();
                pos += tail.len() - trimmed.len();
                if trimmed.starts_with('>') {
                    pos += 1;
                    break false;
                }
                if trimmed.starts_with("/>") {
                    pos += 2;
                    break true;
                }
                if trimmed.is_empty() {
                    return Err(format!("unterminated tag <{name}"));
                }
                if !had_space {
                    return Err(format!("attributes of <{name}> must be separated by whitespace"));
                }
                let attribute = xml_name(trimmed).ok_or_else(|| format!("malformed attribute in <{name}>"))?;
                if attributes.contains(&attribute) {
                    return Err(format!("attribute {attribute} repeated in <{name}>"));
                }
                attributes.push(attribute);
                let after = trimmed[attribute.len()..].trim_start();
                let after = after.strip_prefix('=').ok_or_else(|| format!("attribute {attribute} has no value"))?;
                let after = after.trim_start();
                let quote = after
                    .chars()
                    .next()
                    .filter(|c| *c == '"' || *c == '\'')
                    .ok_or_else(|| format!("value of attribute {attribute} is not quoted"))?;
                let value_len =
                    after[1..].find(quote).ok_or_else(|| format!("value of attribute {attribute} is not closed"))?;
                let value = &after[1..1 + value_len];
                if value.contains('<') {
                    return Err(format!("'<' in the value of attribute {attribute}"));
                }
                unescape(value)?;
                pos = body.len() - after.len() + 1 + value_len + 1;
            };
            if root.is_none() {
                root = Some(name.to_owned());
            }
            if self_closing {
                if name == "Say" && say.is_none() {
                    says.push(String::new());
                }
            } else {
                stack.push(name);
                if name == "Say" && say.is_none() {
                    say = Some((stack.len(), String::new()));
                }
            }
            i += 1 + pos;
        }
    }
    if let Some(open) = stack.last() {
        return Err(format!("<{open}> is never closed"));
    }
    let root = root.ok_or("no root element")?;
    Ok(XmlDoc { root, says })
}

/// The XML name at the start of `text` (ASCII rules, any non-ASCII character allowed).
fn xml_name(text: &str) -> Option<&str> {
    let bytes = text.as_bytes();
    let first = *bytes.first()?;
    if !(first.is_ascii_alphabetic() || first == b'_' || first == b':' || first >= 0x80) {
        return None;
    }
    let len = bytes
        .iter()
        .position(|&b| !(b.is_ascii_alphanumeric() || matches!(b, b'_' | b':' | b'-' | b'.') || b >= 0x80))
        .unwrap_or(bytes.len());
    Some(&text[..len])
}

/// Replaces entity and character references; any other `&` is an error.
fn unescape(text: &str) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let end = after.find(';').filter(|end| *end <= 10).ok_or_else(|| bare_ampersand(after))?;
        let reference = &after[..end];
        let decoded = match reference {
            "lt" => '<',
            "gt" => '>',
            "amp" => '&',
            "quot" => '"',
            "apos" => '\'',
            _ => {
                let number = if let Some(hex) = reference.strip_prefix("#x") {
                    hex.bytes().all(|b| b.is_ascii_hexdigit()).then(|| u32::from_str_radix(hex, 16).ok()).flatten()
                } else if let Some(decimal) = reference.strip_prefix('#') {
                    decimal.bytes().all(|b| b.is_ascii_digit()).then(|| decimal.parse().ok()).flatten()
                } else {
                    None
                };
                number.filter(|n| *n != 0).and_then(char::from_u32).ok_or_else(|| bare_ampersand(after))?
            }
        };
        out.push(decoded);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn bare_ampersand(after: &str) -> String {
    let context: String = after.chars().take(12).collect();
    format!("'&' not part of an entity: \"&{context}\"")
}
