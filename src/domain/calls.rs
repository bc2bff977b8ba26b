//! Phone calls as pure rules: the life of a call as Twilio names it, how claimed calls merge
//! into one per person, what a call says, and whether a failed call is tried again.

use strum::{Display, EnumString, IntoStaticStr};

use crate::domain::escalation::CallRetry;
use crate::domain::incident::{AnomalyKind, IncidentKind};
use crate::domain::store::Platform;
use crate::i18n::{I18n, Lang};
use crate::tp;

/// The life of a call, as Twilio names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Display, EnumString, IntoStaticStr)]
#[strum(serialize_all = "kebab-case")]
pub enum CallStatus {
    /// `initiated` (seen in status callbacks) counts as queued.
    #[strum(to_string = "queued", serialize = "initiated")]
    Queued,
    Ringing,
    InProgress,
    Completed,
    Busy,
    NoAnswer,
    Failed,
    Canceled,
}

impl CallStatus {
    /// Twilio's status string.
    pub fn parse(twilio_status: &str) -> Option<CallStatus> {
        twilio_status.parse().ok()
    }

    /// Twilio's name for the status, for logs and storage.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The call is over and its status will not change again.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            CallStatus::Completed | CallStatus::Busy | CallStatus::NoAnswer | CallStatus::Failed | CallStatus::Canceled
        )
    }

    /// Someone (or a voicemail box) picked up.
    pub fn was_answered(self) -> bool {
        matches!(self, CallStatus::InProgress | CallStatus::Completed)
    }

    /// The call ended without being answered.
    pub fn is_failure(self) -> bool {
        matches!(self, CallStatus::Busy | CallStatus::NoAnswer | CallStatus::Failed | CallStatus::Canceled)
    }
}

/// Claimed calls grouped per person, in the order people first appear: every due call for one
/// person merges into one.
pub fn merge_per_person<T>(claimed: impl IntoIterator<Item = (i64, T)>) -> Vec<(i64, Vec<T>)> {
    let mut groups: Vec<(i64, Vec<T>)> = Vec::new();
    for (person, item) in claimed {
        match groups.iter_mut().find(|(existing, _)| *existing == person) {
            Some((_, items)) => items.push(item),
            None => groups.push((person, vec![item])),
        }
    }
    groups
}

/// One incident as a call speaks of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpokenIncident {
    pub id: i64,
    pub incident_kind: IncidentKind,
    pub kind: Option<AnomalyKind>,
    pub platform: Option<Platform>,
    pub store: Option<String>,
}

/// The words spoken on the call: one incident, or several waiting for the same person. Written
/// for a text-to-speech voice: a store is said as "天猫旗舰店", numbers are listed with 、, and
/// nothing is read that was meant for the eye (no "·").
pub fn call_text(i18n: &I18n, lang: Lang, incidents: &[SpokenIncident]) -> String {
    if let [incident] = incidents {
        let store = match (incident.platform, &incident.store) {
            (Some(platform), Some(name)) => {
                Some(tp!(i18n, lang, "spoken-store", platform = platform.label(i18n, lang), name = name.as_str()))
            }
            _ => None,
        };
        let kind = incident.kind.map(|kind| kind.label(i18n, lang));
        let what = match (store, kind) {
            (Some(store), Some(kind)) => Some(tp!(i18n, lang, "spoken-store-kind", store = store, kind = kind)),
            (Some(only), None) | (None, Some(only)) => Some(only),
            (None, None) => None,
        };
        if incident.incident_kind == IncidentKind::StoreAnomaly {
            let what = what.unwrap_or_else(|| AnomalyKind::Other.label(i18n, lang));
            return tp!(i18n, lang, "call-one-anomaly", number = incident.id, what = what);
        }
        let title = i18n.plain(lang, &format!("incident-title-{}", incident.incident_kind.as_str()), &[]);
        return match what {
            Some(what) => tp!(i18n, lang, "call-one-other", title = title, number = incident.id, what = what),
            None => tp!(i18n, lang, "call-one-other-plain", title = title, number = incident.id),
        };
    }
    let numbers: Vec<String> = incidents.iter().map(|incident| incident.id.to_string()).collect();
    let numbers = numbers.join(&tp!(i18n, lang, "spoken-list-separator"));
    tp!(i18n, lang, "call-many", count = incidents.len(), numbers = numbers)
}

/// When a failed call is tried again: `after` it failed, while attempts are left and the
/// incident still waits for someone. `attempts` counts the calls already made.
pub fn retry_after(retry: &CallRetry, attempts: i64, awaits_response: bool) -> Option<std::time::Duration> {
    (awaits_response && attempts < i64::from(retry.times)).then_some(retry.after)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn call_status_parses_every_twilio_status() {
        let cases = [
            ("queued", CallStatus::Queued),
            ("initiated", CallStatus::Queued),
            ("ringing", CallStatus::Ringing),
            ("in-progress", CallStatus::InProgress),
            ("completed", CallStatus::Completed),
            ("busy", CallStatus::Busy),
            ("no-answer", CallStatus::NoAnswer),
            ("failed", CallStatus::Failed),
            ("canceled", CallStatus::Canceled),
        ];
        for (text, status) in cases {
            assert_eq!(CallStatus::parse(text), Some(status), "{text}");
        }
        for unknown in ["", "Completed", "cancelled", "answered", "no answer"] {
            assert_eq!(CallStatus::parse(unknown), None, "{unknown}");
        }
    }

    #[test]
    fn call_status_round_trips_and_classifies() {
        let all = [
            CallStatus::Queued,
            CallStatus::Ringing,
            CallStatus::InProgress,
            CallStatus::Completed,
            CallStatus::Busy,
            CallStatus::NoAnswer,
            CallStatus::Failed,
            CallStatus::Canceled,
        ];
        for status in all {
            assert_eq!(CallStatus::parse(status.as_str()), Some(status));
            assert_eq!(status.to_string(), status.as_str());
            if status.is_final() {
                assert_ne!(status.was_answered(), status.is_failure(), "{status}");
            } else {
                assert!(!status.is_failure(), "{status}");
            }
        }
        let answered: Vec<_> = all.into_iter().filter(|s| s.was_answered()).collect();
        assert_eq!(answered, [CallStatus::InProgress, CallStatus::Completed]);
    }

    #[test]
    fn due_calls_merge_per_person_in_order() {
        let groups = merge_per_person([(11, 1), (12, 2), (11, 3)]);
        assert_eq!(groups, vec![(11, vec![1, 3]), (12, vec![2])]);
    }

    #[test]
    fn a_failed_call_is_tried_again_while_attempts_are_left_and_nobody_answered() {
        let retry = CallRetry { after: Duration::from_secs(60), times: 1 };
        assert_eq!(retry_after(&retry, 0, true), Some(Duration::from_secs(60)));
        assert_eq!(retry_after(&retry, 1, true), None, "one retry only");
        assert_eq!(retry_after(&retry, 0, false), None, "acknowledged meanwhile");
    }
}
