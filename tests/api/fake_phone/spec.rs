//! The official Twilio description (`tests/specs/twilio_api_v2010.json`), reduced to what
//! the call operations allow: form and query parameters with their types, enums, lengths,
//! bounds and SID shapes, and the known call statuses.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::Value;

const SPEC_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/specs/twilio_api_v2010.json");
/// The create-call and list-calls operations in the spec, the fetch and update ones, and the
/// schema of a call's status.
const SPEC_CREATE_CALL_PATH: &str = "/2010-04-01/Accounts/{AccountSid}/Calls.json";
const SPEC_CALL_PATH: &str = "/2010-04-01/Accounts/{AccountSid}/Calls/{Sid}.json";
const SPEC_CALL_STATUS_SCHEMA: &str = "call_enum_status";
pub(super) const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded";

/// What the Twilio spec allows in the call operations the fake serves.
pub(super) struct CallSpec {
    /// The create-call form schema.
    pub(super) properties: HashMap<String, Property>,
    pub(super) required: Vec<String>,
    /// The update-call form schema.
    pub(super) update_properties: HashMap<String, Property>,
    /// The list-calls query parameters.
    pub(super) list_parameters: HashMap<String, Property>,
    /// Every call status the spec knows, for checking scripts.
    pub(super) statuses: Vec<String>,
}

pub(super) struct Property {
    pub(super) kind: Kind,
    allowed: Option<Vec<String>>,
    min_len: Option<usize>,
    max_len: Option<usize>,
    minimum: Option<i64>,
    maximum: Option<i64>,
    /// From patterns shaped like `^AP[0-9a-fA-F]{32}$`: the prefix and the number of hex digits.
    sid_shape: Option<(String, usize)>,
}

#[derive(Clone, Copy, PartialEq)]
pub(super) enum Kind {
    String,
    Integer,
    Boolean,
    Array,
    Other,
}

impl CallSpec {
    /// Loaded once per process: the spec is large and every test starts a fake.
    pub(super) fn get() -> &'static CallSpec {
        static SPEC: OnceLock<CallSpec> = OnceLock::new();
        SPEC.get_or_init(|| CallSpec::load(SPEC_PATH))
    }

    fn load(path: &str) -> CallSpec {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read the Twilio spec {path}: {e}"));
        let doc: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse the Twilio spec {path}: {e}"));
        let form_schema = |path: &str| {
            doc.pointer(&format!(
                "/paths/{}/post/requestBody/content/{}/schema",
                escape_pointer(path),
                escape_pointer(FORM_CONTENT_TYPE)
            ))
            .map(|schema| resolve(&doc, schema))
            .unwrap_or_else(|| panic!("the Twilio spec has no form schema for POST {path}"))
        };
        let properties_of = |schema: &Value| -> HashMap<String, Property> {
            schema
                .get("properties")
                .and_then(Value::as_object)
                .expect("a form schema lists its properties")
                .iter()
                .map(|(name, property)| (name.clone(), Property::from_schema(resolve(&doc, property))))
                .collect()
        };
        let schema = form_schema(SPEC_CREATE_CALL_PATH);
        let properties = properties_of(schema);
        let update_properties = properties_of(form_schema(SPEC_CALL_PATH));
        let list_parameters = doc
            .pointer(&format!("/paths/{}/get/parameters", escape_pointer(SPEC_CREATE_CALL_PATH)))
            .and_then(Value::as_array)
            .unwrap_or_else(|| panic!("the Twilio spec has no parameters for GET {SPEC_CREATE_CALL_PATH}"))
            .iter()
            .map(|parameter| resolve(&doc, parameter))
            .filter(|parameter| parameter.get("in").and_then(Value::as_str) == Some("query"))
            .filter_map(|parameter| {
                let name = parameter.get("name").and_then(Value::as_str)?;
                let schema = parameter.get("schema").map_or(&Value::Null, |schema| resolve(&doc, schema));
                Some((name.to_owned(), Property::from_schema(schema)))
            })
            .collect();
        let required = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|names| names.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default();
        let statuses = doc
            .pointer(&format!("/components/schemas/{SPEC_CALL_STATUS_SCHEMA}/enum"))
            .and_then(Value::as_array)
            .map(|values| values.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_else(|| panic!("the Twilio spec has no {SPEC_CALL_STATUS_SCHEMA}"));
        CallSpec { properties, required, update_properties, list_parameters, statuses }
    }
}

impl Property {
    fn from_schema(schema: &Value) -> Property {
        let kind = match schema.get("type").and_then(Value::as_str) {
            Some("string") => Kind::String,
            Some("integer") => Kind::Integer,
            Some("boolean") => Kind::Boolean,
            Some("array") => Kind::Array,
            _ => Kind::Other,
        };
        let allowed = schema
            .get("enum")
            .and_then(Value::as_array)
            .map(|values| values.iter().filter_map(Value::as_str).map(str::to_owned).collect());
        let length = |key: &str| schema.get(key).and_then(Value::as_u64).and_then(|n| usize::try_from(n).ok());
        let bound = |key: &str| schema.get(key).and_then(Value::as_i64);
        let sid_shape = schema.get("pattern").and_then(Value::as_str).and_then(sid_shape);
        Property {
            kind,
            allowed,
            min_len: length("minLength"),
            max_len: length("maxLength"),
            minimum: bound("minimum"),
            maximum: bound("maximum"),
            sid_shape,
        }
    }
}

/// Follows a local `$ref` (`#/components/...`), if the schema is one.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str).and_then(|target| target.strip_prefix('#')) {
        Some(pointer) => doc.pointer(pointer).unwrap_or(schema),
        None => schema,
    }
}

fn escape_pointer(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// Recognises the spec's SID patterns, `^XX[0-9a-fA-F]{N}$`.
fn sid_shape(pattern: &str) -> Option<(String, usize)> {
    let body = pattern.strip_prefix('^')?.strip_suffix('$')?;
    let (prefix, count) = body.split_once("[0-9a-fA-F]{")?;
    let count = count.strip_suffix('}')?.parse().ok()?;
    prefix.chars().all(|c| c.is_ascii_alphabetic()).then(|| (prefix.to_owned(), count))
}

impl Property {
    pub(super) fn check(&self, value: &str) -> Result<(), String> {
        match self.kind {
            Kind::Integer => match value.parse::<i64>() {
                Err(_) => return Err("not an integer".to_owned()),
                Ok(n) if self.minimum.is_some_and(|min| n < min) || self.maximum.is_some_and(|max| n > max) => {
                    return Err(format!("{n} is outside {:?}..={:?}", self.minimum, self.maximum));
                }
                Ok(_) => {}
            },
            Kind::Boolean if !["true", "false"].iter().any(|b| value.eq_ignore_ascii_case(b)) => {
                return Err("not a boolean".to_owned());
            }
            _ => {}
        }
        if let Some(allowed) = &self.allowed
            && !allowed.iter().any(|a| a == value)
        {
            return Err(format!("not one of {allowed:?}"));
        }
        let length = value.chars().count();
        if self.min_len.is_some_and(|min| length < min) || self.max_len.is_some_and(|max| length > max) {
            return Err(format!("length {length} is outside {:?}..={:?}", self.min_len, self.max_len));
        }
        if let Some((prefix, digits)) = &self.sid_shape {
            let fits = value
                .strip_prefix(prefix.as_str())
                .is_some_and(|rest| rest.len() == *digits && rest.bytes().all(|b| b.is_ascii_hexdigit()));
            if !fits {
                return Err(format!("not a {prefix} SID"));
            }
        }
        Ok(())
    }
}
