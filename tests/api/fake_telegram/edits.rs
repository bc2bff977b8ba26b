//! Edits of messages the bot sent: what it sent for each (the source an edit is compared
//! with), Telegram's `message is not modified` refusal, and applying an edit.

use serde_json::{Map, Value, json};

use super::answers::{inline_markup, rendered};
use super::state::{ApiError, FakeState, chat_id_of, param_i64, param_string};
use super::{BOT_ID, bot_user_json, unix_now};

/// Telegram's wording when an edit would leave the message as it is.
pub(super) const NOT_MODIFIED: &str = "message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message";

/// A message's content as the bot sent it: raw text or caption (markup unparsed), parse mode
/// and inline keyboard. Telegram refuses an edit that would change none of these, so the
/// rendered text kept in `messages` is not enough to judge.
pub(super) struct Source {
    text: Option<String>,
    caption: Option<String>,
    parse_mode: Option<String>,
    reply_markup: Option<Value>,
}

impl FakeState {
    /// The message an edit is aimed at, when that edit would leave its text (or caption),
    /// parse mode and keyboard exactly as the bot last sent them. Messages whose source the
    /// fake does not know (pushed by a test, sent before it started, forwarded) are not judged.
    pub(super) fn unmodified_edit(&self, method: &str, params: &Map<String, Value>) -> Option<(i64, i64)> {
        if !matches!(method, "editMessageText" | "editMessageCaption" | "editMessageReplyMarkup") {
            return None;
        }
        let (chat_id, _) = self.resolve_chat(params.get("chat_id")).ok()?;
        let message_id = param_i64(params.get("message_id"))?;
        let stored = self.sources.get(&(chat_id, message_id))?;
        let same_markup = stored.reply_markup == keyboard(params);
        let same_content = match method {
            "editMessageText" => stored.text.is_some() && stored.text == param_string(params, "text"),
            "editMessageCaption" => stored.caption == param_string(params, "caption"),
            _ => true,
        };
        let same_mode = method == "editMessageReplyMarkup" || stored.parse_mode == param_string(params, "parse_mode");
        (same_markup && same_content && same_mode).then_some((chat_id, message_id))
    }

    /// Remembers what the bot sent for a message it just posted.
    pub(super) fn remember_source(&mut self, message: &Value, params: &Map<String, Value>) {
        let (Some(chat_id), Some(message_id)) =
            (message.get("chat").and_then(chat_id_of), message.get("message_id").and_then(Value::as_i64))
        else {
            return;
        };
        let source = Source {
            text: param_string(params, "text"),
            caption: param_string(params, "caption"),
            parse_mode: param_string(params, "parse_mode"),
            reply_markup: keyboard(params),
        };
        self.sources.insert((chat_id, message_id), source);
    }
    /// editMessageText / editMessageCaption / editMessageReplyMarkup and other edits of a
    /// chat message. As in Telegram, an edit without `reply_markup` removes the keyboard.
    pub(super) fn edit(&mut self, method: &str, params: &Map<String, Value>) -> Result<Value, ApiError> {
        if params.contains_key("inline_message_id") {
            return Ok(json!(true));
        }
        let (chat_id, chat) = self.resolve_chat(params.get("chat_id"))?;
        let message_id = params
            .get("message_id")
            .and_then(Value::as_i64)
            .ok_or_else(|| ApiError::bad_request("message identifier is not specified"))?;
        let mut message = match self.messages.get(&(chat_id, message_id)) {
            Some(stored) if stored.get("from").and_then(|f| f.get("id")).and_then(Value::as_i64) != Some(BOT_ID) => {
                return Err(ApiError::bad_request("message can't be edited"));
            }
            Some(stored) => stored.clone(),
            // Unknown to the fake (e.g. sent before it started): assume a bot text message.
            None => json!({
                "message_id": message_id,
                "date": unix_now(),
                "chat": chat,
                "from": bot_user_json(),
                "text": "",
            }),
        };
        let Some(fields) = message.as_object_mut() else {
            return Err(ApiError::bad_request("message to edit not found"));
        };
        match method {
            "editMessageText" => {
                if !fields.contains_key("text") {
                    return Err(ApiError::bad_request("there is no text in the message to edit"));
                }
                fields.insert("text".to_owned(), json!(rendered(params, "text")));
                fields.remove("entities");
            }
            "editMessageCaption" => {
                fields.insert("caption".to_owned(), json!(rendered(params, "caption")));
                fields.remove("caption_entities");
            }
            _ => {}
        }
        match inline_markup(params) {
            Some(markup) => fields.insert("reply_markup".to_owned(), markup),
            None => fields.remove("reply_markup"),
        };
        fields.insert("edit_date".to_owned(), json!(unix_now()));
        self.messages.insert((chat_id, message_id), message.clone());
        if let Some(source) = self.sources.get_mut(&(chat_id, message_id)) {
            match method {
                "editMessageText" => {
                    source.text = param_string(params, "text");
                    source.parse_mode = param_string(params, "parse_mode");
                }
                "editMessageCaption" => {
                    source.caption = param_string(params, "caption");
                    source.parse_mode = param_string(params, "parse_mode");
                }
                _ => {}
            }
            source.reply_markup = keyboard(params);
        }
        Ok(message)
    }
}

/// The inline keyboard a message ends up with, for comparing edits: a keyboard without
/// buttons is no keyboard at all.
fn keyboard(params: &Map<String, Value>) -> Option<Value> {
    inline_markup(params).filter(|markup| {
        let rows = markup.get("inline_keyboard").and_then(Value::as_array);
        rows.into_iter().flatten().any(|row| row.as_array().is_some_and(|buttons| !buttons.is_empty()))
    })
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn an_edit_that_changes_nothing_is_refused_as_not_modified() {
        use super::super::RateLimits;
        use super::super::test_client::{PRIVATE, call, keyboard_json, start};
        use super::NOT_MODIFIED;
        use serde_json::{Value, json};

        let (telegram, _clock) = start().await;
        telegram.set_limits(Some(RateLimits { per_chat_burst: 3, ..RateLimits::default() }));
        let text = "<b>Store down</b> &amp; nobody on it";
        let sent =
            json!({ "chat_id": PRIVATE, "text": text, "parse_mode": "HTML", "reply_markup": keyboard_json("ack:1") });
        let (_, sent) = call(&telegram, "sendMessage", sent).await;
        let message_id = sent["result"]["message_id"].as_i64().expect("a message id");
        let edit = |text: &str, markup: Option<Value>| {
            let mut body = json!({ "chat_id": PRIVATE, "message_id": message_id, "text": text, "parse_mode": "HTML" });
            if let Some(markup) = markup {
                body["reply_markup"] = markup;
            }
            body
        };

        let (status, body) = call(&telegram, "editMessageText", edit(text, Some(keyboard_json("ack:1")))).await;
        assert_eq!(status, 400);
        assert_eq!(body["description"], json!(format!("Bad Request: {NOT_MODIFIED}")));
        assert_eq!(
            telegram.violations(),
            vec![format!("editMessageText in {PRIVATE}/{message_id}: message is not modified")]
        );
        let markup_only =
            json!({ "chat_id": PRIVATE, "message_id": message_id, "reply_markup": keyboard_json("ack:1") });
        assert_eq!(call(&telegram, "editMessageReplyMarkup", markup_only).await.0, 400);
        // Neither refusal used the budget: two more changes still fit in the burst of three.
        let same_text_other_markup = edit(text, Some(keyboard_json("ack:2")));
        assert_eq!(call(&telegram, "editMessageText", same_text_other_markup.clone()).await.0, 200);
        assert_eq!(call(&telegram, "editMessageText", same_text_other_markup).await.0, 400);
        // The same rendered text from another source is a change as far as the fake can tell;
        // so is dropping the keyboard.
        let same_rendering = "<i>Store down</i> &amp; nobody on it";
        assert_eq!(call(&telegram, "editMessageText", edit(same_rendering, Some(keyboard_json("ack:2")))).await.0, 200);
        assert_eq!(telegram.message(PRIVATE, message_id).expect("stored")["text"], json!("Store down & nobody on it"));
        assert_eq!(telegram.too_many_requests(), 0);
        telegram.set_limits(None);
        assert_eq!(call(&telegram, "editMessageText", edit(same_rendering, None)).await.0, 200);
        // An empty keyboard is no keyboard.
        let empty = json!({ "inline_keyboard": [] });
        assert_eq!(call(&telegram, "editMessageText", edit(same_rendering, Some(empty))).await.0, 400);

        // Messages the fake did not see being sent are not judged.
        let unknown = json!({ "chat_id": PRIVATE, "message_id": 9999, "text": "x" });
        assert_eq!(call(&telegram, "editMessageText", unknown.clone()).await.0, 200);
        assert_eq!(call(&telegram, "editMessageText", unknown).await.0, 200);

        let edits = telegram.edits_of(PRIVATE, message_id);
        assert_eq!(edits.iter().map(|r| r.method.as_str()).collect::<Vec<_>>(), ["editMessageText"; 3]);
        assert_eq!(edits[0].body["reply_markup"], keyboard_json("ack:2"));
        assert_eq!(telegram.sends_and_edits_in(PRIVATE), 6);
        assert_eq!(telegram.violations().len(), 4);
    }

    #[tokio::test]
    async fn a_caption_edit_is_compared_with_the_caption() {
        use super::super::test_client::{GROUP, call, start};
        use serde_json::json;

        let (telegram, _clock) = start().await;
        let sent = json!({ "chat_id": GROUP, "photo": "file-1", "caption": "Shelf 3" });
        let (_, sent) = call(&telegram, "sendPhoto", sent).await;
        let message_id = sent["result"]["message_id"].as_i64().expect("a message id");
        let edit = |caption: &str| json!({ "chat_id": GROUP, "message_id": message_id, "caption": caption });
        assert_eq!(call(&telegram, "editMessageCaption", edit("Shelf 3")).await.0, 400);
        assert_eq!(call(&telegram, "editMessageCaption", edit("Shelf 4")).await.0, 200);
        assert_eq!(call(&telegram, "editMessageCaption", edit("Shelf 4")).await.0, 400);
        // A deleted message is forgotten.
        let delete = json!({ "chat_id": GROUP, "message_id": message_id });
        assert_eq!(call(&telegram, "deleteMessage", delete).await.0, 200);
        assert_eq!(call(&telegram, "editMessageCaption", edit("Shelf 4")).await.0, 200);
        assert_eq!(telegram.edits_of(GROUP, message_id).len(), 2);
    }
}
