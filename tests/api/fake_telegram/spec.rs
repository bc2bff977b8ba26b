//! The official Bot API description (`tests/specs/telegram_bot_api.json`) and the
//! structural checks against it: required fields, unknown fields, value types.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::checks::Checks;

pub(super) struct Spec {
    pub(super) methods: HashMap<String, MethodSpec>,
    types: HashMap<String, TypeSpec>,
}

pub(super) struct MethodSpec {
    pub(super) fields: Vec<FieldSpec>,
    pub(super) returns: Vec<String>,
}

struct TypeSpec {
    fields: Vec<FieldSpec>,
    /// For abstract types (e.g. BotCommandScope): the concrete types a value may be.
    subtypes: Vec<String>,
}

pub(super) struct FieldSpec {
    pub(super) name: String,
    pub(super) types: Vec<String>,
    required: bool,
}

impl Spec {
    pub(super) fn load(path: &str) -> Spec {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read the Bot API spec {path}: {e}"));
        let spec: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse the Bot API spec {path}: {e}"));
        let entries = |key: &str| spec.get(key).and_then(Value::as_object).cloned().unwrap_or_default();
        let methods = entries("methods")
            .into_iter()
            .map(|(name, method)| {
                let returns = strings(method.get("returns"));
                (name, MethodSpec { fields: fields_of(&method), returns })
            })
            .collect();
        let types = entries("types")
            .into_iter()
            .map(|(name, ty)| (name, TypeSpec { fields: fields_of(&ty), subtypes: strings(ty.get("subtypes")) }))
            .collect();
        Spec { methods, types }
    }

    /// Looks a method up by name (Bot API method names are case-insensitive) and
    /// returns its canonical name with its spec.
    pub(super) fn method(&self, name: &str) -> Option<(&str, &MethodSpec)> {
        self.methods
            .get_key_value(name)
            .or_else(|| self.methods.iter().find(|(known, _)| known.eq_ignore_ascii_case(name)))
            .map(|(name, spec)| (name.as_str(), spec))
    }

    /// Structural checks: required fields present, no unknown fields, values of the declared types.
    pub(super) fn check_request(&self, method: &str, params: &Map<String, Value>, checks: &mut Checks) {
        let Some(spec) = self.methods.get(method) else { return };
        for field in spec.fields.iter().filter(|f| f.required && !params.contains_key(&f.name)) {
            let reason = match field.name.as_str() {
                "text" => "message text is empty".to_owned(),
                name => format!("{name} is empty"),
            };
            checks.reject(format!("{method}: required field `{}` is missing", field.name), &reason);
        }
        for (name, value) in params {
            match spec.fields.iter().find(|f| &f.name == name) {
                Some(field) => {
                    self.check_value(&format!("{method}.{name}"), value, &field.types, &mut checks.violations)
                }
                None => checks.note(format!("{method}: unknown field `{name}`")),
            }
        }
    }

    /// Checks `value` against any of `types`; when none fits, reports the closest one's problems.
    fn check_value(&self, path: &str, value: &Value, types: &[String], problems: &mut Vec<String>) {
        let mut closest: Option<Vec<String>> = None;
        for ty in types {
            let mut found = Vec::new();
            self.check_type(path, value, ty, &mut found);
            if found.is_empty() {
                return;
            }
            if closest.as_ref().is_none_or(|c| found.len() < c.len()) {
                closest = Some(found);
            }
        }
        problems.extend(closest.unwrap_or_default());
    }

    fn check_type(&self, path: &str, value: &Value, ty: &str, problems: &mut Vec<String>) {
        if let Some(item_type) = ty.strip_prefix("Array of ") {
            match value.as_array() {
                Some(items) => {
                    for (i, item) in items.iter().enumerate() {
                        self.check_type(&format!("{path}[{i}]"), item, item_type, problems);
                    }
                }
                None => problems.push(format!("{path}: expected {ty}, got {}", json_kind(value))),
            }
            return;
        }
        let fits = match ty {
            "Integer" => value.is_i64() || value.is_u64(),
            "Float" => value.is_number(),
            "String" => value.is_string(),
            "Boolean" | "True" => value.is_boolean(),
            "InputFile" => value.is_string() || value.is_object(),
            _ => return self.check_object(path, value, ty, problems),
        };
        if !fits {
            problems.push(format!("{path}: expected {ty}, got {}", json_kind(value)));
        }
    }

    fn check_object(&self, path: &str, value: &Value, ty: &str, problems: &mut Vec<String>) {
        // Types missing from the spec, and placeholders without fields, cannot be checked.
        let Some(spec) = self.types.get(ty) else { return };
        if !spec.subtypes.is_empty() {
            return self.check_value(path, value, &spec.subtypes, problems);
        }
        if spec.fields.is_empty() {
            return;
        }
        let Some(object) = value.as_object() else {
            problems.push(format!("{path}: expected {ty}, got {}", json_kind(value)));
            return;
        };
        for field in spec.fields.iter().filter(|f| f.required && !object.contains_key(&f.name)) {
            problems.push(format!("{path}: required field `{}` of {ty} is missing", field.name));
        }
        for (name, value) in object {
            match spec.fields.iter().find(|f| &f.name == name) {
                Some(field) => self.check_value(&format!("{path}.{name}"), value, &field.types, problems),
                None => problems.push(format!("{path}: unknown field `{name}` in {ty}")),
            }
        }
    }
}

fn fields_of(entry: &Value) -> Vec<FieldSpec> {
    let Some(fields) = entry.get("fields").and_then(Value::as_array) else {
        return Vec::new();
    };
    fields
        .iter()
        .filter_map(|field| {
            Some(FieldSpec {
                name: field.get("name")?.as_str()?.to_owned(),
                types: strings(field.get("types")),
                required: field.get("required").and_then(Value::as_bool).unwrap_or(false),
            })
        })
        .collect()
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default()
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
