//! The data behind inline buttons. Telegram allows 64 bytes; every variant encodes to a short
//! ASCII string and parses back, which the tests check.

use crate::anomaly::AnomalyKind;
use crate::incident::Severity;

/// What a checklist button says about an item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatrolTick {
    Ok,
    Issue,
    NotApplicable,
    /// A store account found offline (step 1).
    Offline,
}

/// Telegram's limit for `callback_data`.
pub const CALLBACK_DATA_LIMIT: usize = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallbackData {
    /// Operations acknowledges incident N.
    Acknowledge(i64),
    /// Incident N is resolved.
    Resolve(i64),
    /// The /anomaly form: this store was picked.
    FormStore(i64),
    /// The /anomaly form: this kind was picked.
    FormKind(AnomalyKind),
    /// The /anomaly form was cancelled.
    FormCancel,
    /// A checklist item was ticked.
    PatrolTick(i64, PatrolTick),
    /// The severity of a patrol finding was chosen.
    PatrolSeverity(i64, Severity),
}

impl CallbackData {
    pub fn encode(self) -> String {
        match self {
            CallbackData::Acknowledge(id) => format!("ack:{id}"),
            CallbackData::Resolve(id) => format!("res:{id}"),
            CallbackData::FormStore(id) => format!("af:s:{id}"),
            CallbackData::FormKind(kind) => format!("af:k:{}", kind.as_str()),
            CallbackData::FormCancel => "af:x".to_owned(),
            CallbackData::PatrolTick(item, tick) => {
                let code = match tick {
                    PatrolTick::Ok => 'o',
                    PatrolTick::Issue => 'i',
                    PatrolTick::NotApplicable => 'n',
                    PatrolTick::Offline => 'f',
                };
                format!("pt:{item}:{code}")
            }
            CallbackData::PatrolSeverity(item, severity) => {
                let code = match severity {
                    Severity::Blue => 'b',
                    Severity::Yellow => 'y',
                    Severity::Red => 'r',
                };
                format!("pv:{item}:{code}")
            }
        }
    }

    pub fn parse(data: &str) -> Option<CallbackData> {
        let number = |text: &str| text.parse::<i64>().ok().filter(|n| *n > 0);
        if let Some(id) = data.strip_prefix("ack:") {
            return number(id).map(CallbackData::Acknowledge);
        }
        if let Some(id) = data.strip_prefix("res:") {
            return number(id).map(CallbackData::Resolve);
        }
        if let Some(id) = data.strip_prefix("af:s:") {
            return number(id).map(CallbackData::FormStore);
        }
        if let Some(kind) = data.strip_prefix("af:k:") {
            return AnomalyKind::parse(kind).map(CallbackData::FormKind);
        }
        if let Some(rest) = data.strip_prefix("pt:") {
            let (item, code) = rest.split_once(':')?;
            let tick = match code {
                "o" => PatrolTick::Ok,
                "i" => PatrolTick::Issue,
                "n" => PatrolTick::NotApplicable,
                "f" => PatrolTick::Offline,
                _ => return None,
            };
            return number(item).map(|item| CallbackData::PatrolTick(item, tick));
        }
        if let Some(rest) = data.strip_prefix("pv:") {
            let (item, code) = rest.split_once(':')?;
            let severity = match code {
                "b" => Severity::Blue,
                "y" => Severity::Yellow,
                "r" => Severity::Red,
                _ => return None,
            };
            return number(item).map(|item| CallbackData::PatrolSeverity(item, severity));
        }
        (data == "af:x").then_some(CallbackData::FormCancel)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_round_trips_within_64_bytes() {
        let samples = [
            CallbackData::Acknowledge(i64::MAX),
            CallbackData::Resolve(1),
            CallbackData::FormStore(i64::MAX),
            CallbackData::FormKind(AnomalyKind::Coupon),
            CallbackData::FormKind(AnomalyKind::Other),
            CallbackData::FormCancel,
            CallbackData::PatrolTick(i64::MAX, PatrolTick::Offline),
            CallbackData::PatrolTick(7, PatrolTick::NotApplicable),
            CallbackData::PatrolSeverity(i64::MAX, Severity::Red),
        ];
        for sample in samples {
            let encoded = sample.encode();
            assert!(encoded.len() <= CALLBACK_DATA_LIMIT, "{encoded}");
            assert_eq!(CallbackData::parse(&encoded), Some(sample));
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
            "pt:x:o",
            "pv:1:g",
            "pt:1",
        ] {
            assert_eq!(CallbackData::parse(garbage), None, "{garbage}");
        }
    }
}
