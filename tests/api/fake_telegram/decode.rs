//! Request decoding: parameters from the query string and from JSON, urlencoded or
//! multipart bodies, turned into a JSON object with the types the spec declares.

use std::collections::HashMap;

use axum::http::{HeaderMap, header};
use serde_json::{Map, Number, Value, json};

use super::spec::MethodSpec;

/// Reads the parameters from the query string and the body (JSON, urlencoded or multipart).
pub(super) fn parse_params(
    method: Option<&MethodSpec>,
    headers: &HeaderMap,
    query: Option<&str>,
    body: &[u8],
) -> Result<Map<String, Value>, String> {
    let mut params = Map::new();
    for (name, value) in parse_urlencoded(query.unwrap_or_default()) {
        let value = coerce_text_param(method, &name, value);
        params.insert(name, value);
    }
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let mime = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    match mime.as_str() {
        _ if body.iter().all(u8::is_ascii_whitespace) => {}
        "application/json" | "" => match serde_json::from_slice(body) {
            Ok(Value::Object(fields)) => params.extend(fields),
            Ok(_) => return Err("request body must be a JSON object".to_owned()),
            Err(error) => return Err(format!("can't parse JSON body: {error}")),
        },
        "application/x-www-form-urlencoded" => {
            let text = std::str::from_utf8(body).map_err(|_| "form body is not UTF-8".to_owned())?;
            for (name, value) in parse_urlencoded(text) {
                let value = coerce_text_param(method, &name, value);
                params.insert(name, value);
            }
        }
        "multipart/form-data" => params.extend(parse_multipart(method, content_type, body)?),
        other => return Err(format!("unsupported Content-Type {other:?}")),
    }
    Ok(params)
}

/// Turns a textual parameter (form, query or multipart) into the JSON value its spec type implies.
fn coerce_text_param(method: Option<&MethodSpec>, name: &str, raw: String) -> Value {
    let Some(field) = method.and_then(|m| m.fields.iter().find(|f| f.name == name)) else {
        return Value::String(raw);
    };
    for ty in &field.types {
        match ty.as_str() {
            "Integer" => {
                if let Ok(n) = raw.parse::<i64>() {
                    return json!(n);
                }
            }
            "Float" => {
                if let Some(n) = raw.parse::<f64>().ok().and_then(Number::from_f64) {
                    return Value::Number(n);
                }
            }
            "Boolean" => match raw.as_str() {
                "true" | "True" => return json!(true),
                "false" | "False" => return json!(false),
                _ => {}
            },
            "String" | "InputFile" => {}
            _ => {
                if let Ok(value @ (Value::Object(_) | Value::Array(_))) = serde_json::from_str(&raw) {
                    return value;
                }
            }
        }
    }
    Value::String(raw)
}

fn parse_urlencoded(text: &str) -> Vec<(String, String)> {
    text.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(name, true), percent_decode(value, true))
        })
        .collect()
}

pub(super) fn percent_decode(text: &str, plus_is_space: bool) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        let escaped = bytes
            .get(i + 1..i + 3)
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match (byte, escaped) {
            (b'%', Some(value)) => {
                decoded.push(value);
                i += 3;
                continue;
            }
            (b'+', _) if plus_is_space => decoded.push(b' '),
            _ => decoded.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

/// A minimal multipart/form-data reader: enough for what HTTP clients send to the Bot API.
/// Uploaded files referenced as `attach://<part>` are substituted into the referring field.
fn parse_multipart(method: Option<&MethodSpec>, content_type: &str, body: &[u8]) -> Result<Map<String, Value>, String> {
    let boundary = content_type
        .split(';')
        .find_map(|param| param.trim().strip_prefix("boundary="))
        .map(|b| b.trim_matches('"'))
        .filter(|b| !b.is_empty())
        .ok_or("multipart body without boundary")?;
    let delimiter = format!("--{boundary}");
    let part_end = format!("\r\n--{boundary}");

    let start = find_bytes(body, delimiter.as_bytes()).ok_or("multipart body has no parts")?;
    let mut rest = &body[start + delimiter.len()..];
    let mut texts = Vec::new();
    let mut files = HashMap::new();
    while !rest.starts_with(b"--") {
        rest = rest.strip_prefix(b"\r\n").ok_or("malformed multipart delimiter")?;
        let end = find_bytes(rest, part_end.as_bytes()).ok_or("unterminated multipart part")?;
        let (part, after) = rest.split_at(end);
        rest = &after[part_end.len()..];

        let (head, content) = match part.strip_prefix(b"\r\n") {
            Some(content) => (&b""[..], content),
            None => {
                let split = find_bytes(part, b"\r\n\r\n").ok_or("multipart part without header end")?;
                (&part[..split], &part[split + 4..])
            }
        };
        let head = String::from_utf8_lossy(head);
        let mut name = None;
        let mut file_name = None;
        let mut mime_type = None;
        for line in head.split("\r\n") {
            let Some((key, value)) = line.split_once(':') else { continue };
            match key.trim().to_ascii_lowercase().as_str() {
                "content-disposition" => {
                    for param in value.split(';').skip(1) {
                        let Some((key, value)) = param.trim().split_once('=') else { continue };
                        let value = value.trim().trim_matches('"').to_owned();
                        match key.trim() {
                            "name" => name = Some(value),
                            "filename" => file_name = Some(value),
                            _ => {}
                        }
                    }
                }
                "content-type" => mime_type = Some(value.trim().to_owned()),
                _ => {}
            }
        }
        let name = name.ok_or("multipart part without a name")?;
        match file_name {
            Some(file_name) => {
                let mut file = json!({
                    "file_name": file_name,
                    "size": content.len(),
                    "content": String::from_utf8_lossy(content),
                });
                if let Some(mime_type) = mime_type {
                    file["mime_type"] = json!(mime_type);
                }
                files.insert(name, file);
            }
            None => {
                let text =
                    String::from_utf8(content.to_vec()).map_err(|_| format!("multipart field {name} is not UTF-8"))?;
                texts.push((name, text));
            }
        }
    }

    let mut params = Map::new();
    for (name, text) in texts {
        let attached = text.strip_prefix("attach://").and_then(|id| files.remove(id));
        let value = match attached {
            Some(file) => file,
            None => coerce_text_param(method, &name, text),
        };
        params.insert(name, value);
    }
    params.extend(files);
    Ok(params)
}

fn find_bytes(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}
