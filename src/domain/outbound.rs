//! What floorbot sends, as values the edges turn into Bot API calls: messages with their
//! priority and abstract buttons, digests' ingredients, live edits, and what delivery came to.

use strum::{Display, EnumString, IntoStaticStr};

use crate::domain::incident::{AnomalyKind, Severity};

/// Which traffic goes first when a chat's budget is short.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    /// Relays to operations, mentions, private alerts.
    Escalation,
    /// Replies to commands and button presses.
    Reply,
    /// Edits of live messages.
    Edit,
}

/// Kinds of message that merge into a digest when they queue for one chat.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MergeKind {
    /// A relay to the cross-department group.
    Relay,
    /// The confirmation of a report in its team group.
    Confirmation,
    /// A mention of people in a team group about an unacknowledged incident.
    Mention,
    /// A private alert to one person.
    PrivateAlert,
    /// The reporter told that operations acknowledged or resolved.
    Notice,
}

/// One message's place in a digest: what it is about, and anything the digest needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MergeItem {
    pub subject: i64,
    pub detail: Option<String>,
}

/// How a checklist button judges an item. The one-letter forms are what buttons posted by
/// earlier versions carry; they still parse.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Display, EnumString, IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum PatrolTick {
    #[strum(to_string = "ok", serialize = "o")]
    Ok,
    #[strum(to_string = "issue", serialize = "i")]
    Issue,
    #[strum(to_string = "na", serialize = "n")]
    NotApplicable,
    /// A store account found offline (step 1).
    #[strum(to_string = "offline", serialize = "f")]
    Offline,
}

/// What pressing a button does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ButtonAction {
    /// Acknowledge incident N.
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

/// One inline button.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Button {
    pub label: String,
    pub action: ButtonAction,
}

impl Button {
    pub fn new(label: impl Into<String>, action: ButtonAction) -> Button {
        Button { label: label.into(), action }
    }
}

/// Rows of inline buttons under a message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Keyboard {
    pub rows: Vec<Vec<Button>>,
}

impl Keyboard {
    pub fn new(rows: Vec<Vec<Button>>) -> Keyboard {
        Keyboard { rows }
    }

    /// Buttons laid out `per_row` at a time.
    pub fn grid(buttons: Vec<Button>, per_row: usize) -> Keyboard {
        Keyboard { rows: buttons.chunks(per_row.max(1)).map(<[Button]>::to_vec).collect() }
    }

    pub fn is_empty(&self) -> bool {
        self.rows.iter().all(Vec::is_empty)
    }

    pub fn len(&self) -> usize {
        self.rows.iter().map(Vec::len).sum()
    }

    /// None for a keyboard without buttons: the message then has none.
    pub fn non_empty(self) -> Option<Keyboard> {
        (!self.is_empty()).then_some(self)
    }
}

/// A message to send, with its HTML text and how it goes.
#[derive(Clone, Debug)]
pub struct Outgoing {
    pub html: String,
    pub reply_to: Option<i32>,
    pub keyboard: Option<Keyboard>,
    /// Ask the client to open a reply to this message (for step-by-step forms).
    pub force_reply: bool,
    pub priority: Priority,
    /// Merge with queued messages of the same kind into a digest.
    pub merge: Option<(MergeKind, MergeItem)>,
    /// A live message: remember what it shows, so later edits change something.
    pub live: bool,
}

impl Outgoing {
    /// A reply-priority message.
    pub fn new(html: impl Into<String>) -> Outgoing {
        Outgoing {
            html: html.into(),
            reply_to: None,
            keyboard: None,
            force_reply: false,
            priority: Priority::Reply,
            merge: None,
            live: false,
        }
    }

    pub fn replying_to(mut self, message_id: Option<i32>) -> Outgoing {
        self.reply_to = message_id;
        self
    }

    pub fn with_keyboard(mut self, keyboard: Option<Keyboard>) -> Outgoing {
        self.keyboard = keyboard;
        self
    }

    pub fn asking_for_reply(mut self) -> Outgoing {
        self.force_reply = true;
        self
    }

    pub fn escalation(mut self) -> Outgoing {
        self.priority = Priority::Escalation;
        self
    }

    pub fn merging(mut self, kind: MergeKind, item: MergeItem) -> Outgoing {
        self.merge = Some((kind, item));
        self
    }

    pub fn live(mut self) -> Outgoing {
        self.live = true;
        self
    }
}

/// A message the bot sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sent {
    pub chat_id: i64,
    pub message_id: i32,
}

/// Why something could not be delivered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// The bot is no longer in that chat (removed, or the chat is gone).
    #[error("the bot can no longer post in this chat")]
    ChatGone,
    /// A private chat the person never started, or blocked.
    #[error("the person has not started the bot in private, or blocked it")]
    PersonUnreachable,
    /// Telegram refused the request for good.
    #[error("Telegram refused the request: {0}")]
    Refused(String),
    /// Telegram or the network kept failing through every retry, or the bot is stopping.
    #[error("Telegram unavailable: {0}")]
    Unavailable(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escalation_goes_before_replies_and_replies_before_edits() {
        assert!(Priority::Escalation < Priority::Reply);
        assert!(Priority::Reply < Priority::Edit);
    }

    #[test]
    fn a_grid_lays_buttons_out_in_rows() {
        let buttons: Vec<Button> = (1..=5).map(|n| Button::new(n.to_string(), ButtonAction::Acknowledge(n))).collect();
        let keyboard = Keyboard::grid(buttons, 2);
        assert_eq!(keyboard.rows.iter().map(Vec::len).collect::<Vec<_>>(), vec![2, 2, 1]);
        assert_eq!(keyboard.len(), 5);
        assert!(Keyboard::default().non_empty().is_none());
    }
}
