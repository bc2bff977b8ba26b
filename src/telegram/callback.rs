//! The data behind inline buttons. Telegram allows 64 bytes; every [`ButtonAction`] encodes
//! to a short ASCII string built from the enums' own stored names, and parses back, which
//! the tests check.

use serde_json::{Value, json};

use crate::domain::outbound::{ButtonAction, Keyboard};

/// Telegram's limit for `callback_data`.
pub const CALLBACK_DATA_LIMIT: usize = 64;

pub fn encode(action: ButtonAction) -> String {
    match action {
        ButtonAction::Acknowledge(id) => format!("ack:{id}"),
        ButtonAction::Resolve(id) => format!("res:{id}"),
        ButtonAction::FormStore(id) => format!("af:s:{id}"),
        ButtonAction::FormKind(kind) => format!("af:k:{kind}"),
        ButtonAction::FormCancel => "af:x".to_owned(),
        ButtonAction::PatrolTick(item, tick) => format!("pt:{item}:{tick}"),
        ButtonAction::PatrolSeverity(item, severity) => format!("pv:{item}:{severity}"),
    }
}

pub fn parse(data: &str) -> Option<ButtonAction> {
    let number = |text: &str| text.parse::<i64>().ok().filter(|n| *n > 0);
    if let Some(id) = data.strip_prefix("ack:") {
        return number(id).map(ButtonAction::Acknowledge);
    }
    if let Some(id) = data.strip_prefix("res:") {
        return number(id).map(ButtonAction::Resolve);
    }
    if let Some(id) = data.strip_prefix("af:s:") {
        return number(id).map(ButtonAction::FormStore);
    }
    if let Some(kind) = data.strip_prefix("af:k:") {
        return kind.parse().ok().map(ButtonAction::FormKind);
    }
    if let Some(rest) = data.strip_prefix("pt:") {
        let (item, tick) = rest.split_once(':')?;
        return Some(ButtonAction::PatrolTick(number(item)?, tick.parse().ok()?));
    }
    if let Some(rest) = data.strip_prefix("pv:") {
        let (item, severity) = rest.split_once(':')?;
        return Some(ButtonAction::PatrolSeverity(number(item)?, severity.parse().ok()?));
    }
    (data == "af:x").then_some(ButtonAction::FormCancel)
}

/// A keyboard as the Bot API wants it.
pub fn keyboard_json(keyboard: &Keyboard) -> Value {
    let rows: Vec<Value> = keyboard
        .rows
        .iter()
        .map(|row| {
            Value::Array(
                row.iter()
                    .map(|button| json!({ "text": button.label, "callback_data": encode(button.action) }))
                    .collect(),
            )
        })
        .collect();
    json!({ "inline_keyboard": rows })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::incident::{AnomalyKind, Severity};
    use crate::domain::outbound::PatrolTick;

    #[test]
    fn every_variant_round_trips_within_64_bytes() {
        let samples = [
            ButtonAction::Acknowledge(i64::MAX),
            ButtonAction::Resolve(1),
            ButtonAction::FormStore(i64::MAX),
            ButtonAction::FormKind(AnomalyKind::Coupon),
            ButtonAction::FormKind(AnomalyKind::Other),
            ButtonAction::FormCancel,
            ButtonAction::PatrolTick(i64::MAX, PatrolTick::Offline),
            ButtonAction::PatrolTick(7, PatrolTick::NotApplicable),
            ButtonAction::PatrolSeverity(i64::MAX, Severity::Yellow),
        ];
        for sample in samples {
            let encoded = encode(sample);
            assert!(encoded.len() <= CALLBACK_DATA_LIMIT, "{encoded}");
            assert_eq!(parse(&encoded), Some(sample));
        }
    }

    #[test]
    fn garbage_is_rejected() {
        for garbage in [
            "",
            "ack:",
            "ack:-1",
            "ack:x",
            "res:0",
            "af:k:weather",
            "af:s:",
            "hello",
            "pt:1:z",
            "pt:x:ok",
            "pv:1:green",
            "pt:1",
        ] {
            assert_eq!(parse(garbage), None, "{garbage}");
        }
    }
}
