//! Checks of the bot's create and update requests against the spec and its own rules
//! (E.164 numbers, well-formed TwiML, `<Say>` length, `Timeout` range), the form decoding
//! they rest on, and HTTP basic auth.

use std::collections::HashMap;
use std::ops::RangeInclusive;

use axum::http::{HeaderMap, header};

use super::server::ApiError;
use super::spec::{CallSpec, Kind};
use super::twiml::parse_xml;

/// Longest text the bot may put in one `<Say>`, in characters after unescaping entities.
pub(super) const MAX_SAY_CHARS: usize = 300;
/// From the spec's description of `Twiml`.
const MAX_TWIML_CHARS: usize = 4000;
/// Ring time the bot may ask for, in seconds.
const TIMEOUT_RANGE: RangeInclusive<i64> = 5..=600;

/// The outcome of checking one create-call request.
#[derive(Default)]
pub(super) struct CreateCheck {
    pub(super) problems: Vec<String>,
    /// The first reason Twilio itself would refuse the request.
    pub(super) rejection: Option<ApiError>,
    pub(super) to: String,
    pub(super) from: String,
    pub(super) twiml: String,
    pub(super) said: String,
    pub(super) timeout: Option<u32>,
}

impl CreateCheck {
    pub(super) fn violation(&mut self, problem: String) {
        self.problems.push(problem);
    }

    pub(super) fn reject(&mut self, error: ApiError) {
        self.rejection.get_or_insert(error);
    }

    pub(super) fn check_params(&mut self, spec: &CallSpec, params: &[(String, String)]) {
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for (name, value) in params {
            let count = seen.entry(name.as_str()).or_default();
            *count += 1;
            let Some(property) = spec.properties.get(name) else {
                self.violation(format!("parameter {name:?} is not in the spec's CreateCallRequest"));
                continue;
            };
            if *count == 2 && property.kind != Kind::Array {
                self.violation(format!("parameter {name} is given more than once"));
            }
            if let Err(problem) = property.check(value) {
                self.violation(format!("parameter {name}={value:?}: {problem}"));
                self.reject(ApiError::new(400, 20001, format!("Invalid parameter {name}: {problem}")));
            }
        }
        let first = |name: &str| params.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str());

        for name in &spec.required {
            if first(name).is_none_or(str::is_empty) {
                self.violation(format!("required parameter {name} is missing"));
                let code = match name.as_str() {
                    "To" => 21201,
                    "From" => 21213,
                    _ => 20001,
                };
                self.reject(ApiError::new(400, code, format!("No '{name}' number is specified")));
            }
        }

        self.to = first("To").unwrap_or_default().to_owned();
        self.from = first("From").unwrap_or_default().to_owned();
        for (name, number, code) in [("To", self.to.clone(), 21211), ("From", self.from.clone(), 21212)] {
            if !number.is_empty() && !is_e164(&number) {
                self.violation(format!("{name} {number:?} is not an E.164 number"));
                self.reject(ApiError::new(400, code, format!("Invalid '{name}' Phone Number: {number}")));
            }
        }

        if ["Url", "Twiml", "ApplicationSid"].iter().all(|name| first(name).is_none_or(str::is_empty)) {
            self.violation("none of Url, Twiml or ApplicationSid is given".to_owned());
            self.reject(ApiError::new(400, 21205, "A 'Url', 'Twiml' or 'ApplicationSid' parameter is required"));
        }

        if let Some(twiml) = first("Twiml").filter(|twiml| !twiml.is_empty()) {
            self.twiml = twiml.to_owned();
            self.check_twiml(twiml);
        }

        if let Some(timeout) = first("Timeout") {
            match timeout.parse::<i64>() {
                Ok(seconds) if TIMEOUT_RANGE.contains(&seconds) => self.timeout = u32::try_from(seconds).ok(),
                Ok(seconds) => {
                    self.violation(format!("Timeout {seconds} is outside {TIMEOUT_RANGE:?} seconds"));
                    self.timeout = u32::try_from(seconds).ok();
                }
                // Already reported by the type check.
                Err(_) => {}
            }
        }
    }

    /// Checks an update-call form; returns its `Status` and `Twiml`.
    pub(super) fn check_update(
        &mut self,
        spec: &CallSpec,
        params: &[(String, String)],
    ) -> (Option<String>, Option<String>) {
        let mut seen: Vec<&str> = Vec::new();
        for (name, value) in params {
            if seen.contains(&name.as_str()) {
                self.violation(format!("parameter {name} is given more than once"));
            }
            seen.push(name);
            let Some(property) = spec.update_properties.get(name) else {
                self.violation(format!("parameter {name:?} is not in the spec's UpdateCallRequest"));
                continue;
            };
            if let Err(problem) = property.check(value) {
                self.violation(format!("parameter {name}={value:?}: {problem}"));
                self.reject(ApiError::new(400, 20001, format!("Invalid parameter {name}: {problem}")));
            }
        }
        if params.is_empty() {
            self.violation("no parameters: the update changes nothing".to_owned());
        }
        let first = |name: &str| params.iter().find(|(key, _)| key == name).map(|(_, value)| value.clone());
        let twiml = first("Twiml").filter(|twiml| !twiml.is_empty());
        if let Some(twiml) = &twiml {
            self.twiml = twiml.clone();
            self.check_twiml(twiml);
            if first("Url").is_some() {
                self.violation("Url and Twiml are mutually exclusive".to_owned());
            }
        }
        (first("Status"), twiml)
    }

    fn check_twiml(&mut self, twiml: &str) {
        let length = twiml.chars().count();
        if length > MAX_TWIML_CHARS {
            self.violation(format!("Twiml is {length} characters long, the limit is {MAX_TWIML_CHARS}"));
        }
        match parse_xml(twiml) {
            Ok(doc) => {
                if doc.root != "Response" {
                    self.violation(format!("Twiml root element is <{}>, expected <Response>", doc.root));
                }
                for say in &doc.says {
                    let chars = say.chars().count();
                    if chars > MAX_SAY_CHARS {
                        self.violation(format!("<Say> text is {chars} characters long, the limit is {MAX_SAY_CHARS}"));
                    }
                    if say.trim().is_empty() {
                        self.violation("<Say> has no text".to_owned());
                    }
                }
                self.said = doc.says.join("\n");
            }
            Err(problem) => self.violation(format!("Twiml is not well-formed XML: {problem}")),
        }
    }
}

/// `+`, then 8 to 15 digits, the first not 0 (country codes never start with 0).
pub(super) fn is_e164(number: &str) -> bool {
    number.strip_prefix('+').is_some_and(|digits| {
        (8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) && !digits.starts_with('0')
    })
}

/// Decodes an `application/x-www-form-urlencoded` body into its pairs, keeping repeats and order
/// (array parameters such as `StatusCallbackEvent` repeat their name).
pub(super) fn parse_form(body: &[u8]) -> Result<Vec<(String, String)>, String> {
    body.split(|&b| b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = match pair.iter().position(|&b| b == b'=') {
                Some(eq) => (&pair[..eq], &pair[eq + 1..]),
                None => (pair, &[][..]),
            };
            Ok((percent_decode(name)?, percent_decode(value)?))
        })
        .collect()
}

fn percent_decode(raw: &[u8]) -> Result<String, String> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = |offset: usize| raw.get(i + offset).and_then(|&b| (b as char).to_digit(16));
                let (Some(high), Some(low)) = (hex(1), hex(2)) else {
                    return Err(format!("bad percent-encoding in {:?}", String::from_utf8_lossy(raw)));
                };
                out.push((high * 16 + low) as u8);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| format!("form field {:?} is not UTF-8", String::from_utf8_lossy(raw)))
}

/// Says what is wrong with the request's credentials, if anything.
pub(super) fn check_basic_auth(headers: &HeaderMap, user: &str, password: &str) -> Result<(), String> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err("no Authorization header (HTTP basic auth is required)".to_owned());
    };
    let value = value.to_str().map_err(|_| "Authorization header is not ASCII".to_owned())?;
    let credentials = value
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("Basic"))
        .map(|(_, credentials)| credentials.trim())
        .ok_or_else(|| format!("Authorization {value:?} is not HTTP basic auth"))?;
    let decoded = base64_decode(credentials)
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| "basic auth credentials are not valid base64 of UTF-8".to_owned())?;
    let (given_user, given_password) =
        decoded.split_once(':').ok_or_else(|| "basic auth credentials have no ':'".to_owned())?;
    if given_user != user {
        return Err(format!("basic auth user is {given_user:?}, expected the account SID {user:?}"));
    }
    if given_password != password {
        return Err("basic auth password is not the auth token".to_owned());
    }
    Ok(())
}

/// Standard base64 with padding, as RFC 7617 requires.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(4) {
        return None;
    }
    let data = text.trim_end_matches('=');
    if text.len() - data.len() > 2 {
        return None;
    }
    let mut out = Vec::with_capacity(data.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for byte in data.bytes() {
        let sextet = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(sextet);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}
