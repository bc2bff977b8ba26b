//! The answers to requests that passed the checks: Telegram's history-dependent refusals
//! first, then a result shaped like Telegram's (sent messages, chats, members, files), with
//! the fake's state updated to match.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::edits::NOT_MODIFIED;
use super::html::parse_html;
use super::limits::{CHARGED_METHODS, retry_after_secs};
use super::spec::Spec;
use super::state::{ApiError, FakeState};
use super::{bot_user_json, unix_now};

impl FakeState {
    /// Telegram's history-dependent refusals first (an edit that changes nothing, then the
    /// flood limits), so that a refused request leaves messages and budgets as they were;
    /// then the answer.
    pub(super) fn refuse_or_answer(
        &mut self,
        spec: &Spec,
        method: &str,
        params: &Map<String, Value>,
        now: DateTime<Utc>,
    ) -> Result<Value, ApiError> {
        if let Some((chat_id, message_id)) = self.unmodified_edit(method, params) {
            self.violations.push(format!("{method} in {chat_id}/{message_id}: message is not modified"));
            return Err(ApiError::bad_request(NOT_MODIFIED));
        }
        if let Some(limits) = self.limits.filter(|_| CHARGED_METHODS.contains(&method)) {
            let chat_id = self.resolve_chat(params.get("chat_id")).ok().map(|(id, _)| id);
            if let Err(wait) = self.limiter.acquire(&limits, chat_id, now) {
                let target = chat_id.map_or_else(|| "an inline message".to_owned(), |id| id.to_string());
                self.violations.push(format!("{method} to {target}: over Telegram's rate limit"));
                *self.limiter.refusals.entry(chat_id.unwrap_or(0)).or_default() += 1;
                return Err(ApiError::too_many_requests(retry_after_secs(wait)));
            }
        }
        self.answer(spec, method, params)
    }

    /// Builds a message from the bot, stores it and returns it.
    fn post_bot_message(&mut self, chat_id: i64, chat: Value, content: Map<String, Value>) -> Value {
        let message_id = self.allocate_message_id(chat_id);
        let mut message = json!({
            "message_id": message_id,
            "date": unix_now(),
            "chat": chat,
            "from": bot_user_json(),
        });
        if let Some(fields) = message.as_object_mut() {
            fields.extend(content);
        }
        self.messages.insert((chat_id, message_id), message.clone());
        message
    }

    /// The successful result of a request that passed all checks.
    fn answer(&mut self, spec: &Spec, method: &str, params: &Map<String, Value>) -> Result<Value, ApiError> {
        if let Some(result) = self.canned_results.get(method) {
            return Ok(result.clone());
        }
        match method {
            "getMe" => {
                let mut me = bot_user_json();
                for (flag, value) in [
                    ("can_join_groups", true),
                    ("can_read_all_group_messages", true),
                    ("supports_inline_queries", false),
                    ("can_connect_to_business", false),
                    ("has_main_web_app", false),
                ] {
                    me[flag] = json!(value);
                }
                Ok(me)
            }
            "getWebhookInfo" => Ok(json!({ "url": "", "has_custom_certificate": false, "pending_update_count": 0 })),
            "getMyCommands" => Ok(json!([])),
            "getChat" => {
                let (_, chat) = self.resolve_chat(params.get("chat_id"))?;
                Ok(chat_full_info(chat))
            }
            "getChatMember" => {
                let (chat_id, _) = self.resolve_chat(params.get("chat_id"))?;
                let user_id = params.get("user_id").and_then(Value::as_i64).unwrap_or(0);
                Ok(self.member(chat_id, user_id))
            }
            "getChatAdministrators" => {
                let (chat_id, _) = self.resolve_chat(params.get("chat_id"))?;
                let admins =
                    self.members.get(&chat_id).into_iter().flatten().filter(|m| {
                        matches!(m.get("status").and_then(Value::as_str), Some("administrator" | "creator"))
                    });
                Ok(Value::Array(admins.cloned().collect()))
            }
            "getChatMemberCount" => {
                let (chat_id, _) = self.resolve_chat(params.get("chat_id"))?;
                Ok(json!(self.members.get(&chat_id).map_or(0, Vec::len).max(2)))
            }
            "deleteMessage" | "deleteMessages" => {
                let (chat_id, _) = self.resolve_chat(params.get("chat_id"))?;
                if self.undeletable_chats.contains(&chat_id) {
                    return Err(ApiError::bad_request("message can't be deleted"));
                }
                let ids = params.get("message_ids").and_then(Value::as_array).cloned().unwrap_or_default();
                for id in ids.iter().chain(params.get("message_id")).filter_map(Value::as_i64) {
                    self.messages.remove(&(chat_id, id));
                    self.sources.remove(&(chat_id, id));
                }
                Ok(json!(true))
            }
            "sendMessage" => {
                let (chat_id, chat) = self.resolve_chat(params.get("chat_id"))?;
                let mut content = Map::new();
                content.insert("text".to_owned(), json!(rendered(params, "text")));
                copy_message_options(params, &mut content);
                let message = self.post_bot_message(chat_id, chat, content);
                self.remember_source(&message, params);
                Ok(message)
            }
            "sendDocument" | "sendPhoto" => {
                let (chat_id, chat) = self.resolve_chat(params.get("chat_id"))?;
                let mut content = Map::new();
                if method == "sendDocument" {
                    let document = self.document(params.get("document"));
                    content.insert("document".to_owned(), document);
                } else {
                    let photo = self.photo(params.get("photo"));
                    content.insert("photo".to_owned(), photo);
                }
                if params.contains_key("caption") {
                    content.insert("caption".to_owned(), json!(rendered(params, "caption")));
                }
                copy_message_options(params, &mut content);
                let message = self.post_bot_message(chat_id, chat, content);
                self.remember_source(&message, params);
                Ok(message)
            }
            "forwardMessage" | "copyMessage" => self.forward(method, params),
            "editMessageText" | "editMessageCaption" | "editMessageReplyMarkup" => self.edit(method, params),
            _ => self.answer_by_return_type(spec, method, params),
        }
    }

    fn document(&mut self, upload: Option<&Value>) -> Value {
        if let Some(Value::String(file_id)) = upload {
            return json!({ "file_id": file_id, "file_unique_id": format!("u-{file_id}") });
        }
        let file_id = self.allocate_file_id("document");
        let mut document = json!({ "file_id": file_id, "file_unique_id": format!("u-{file_id}") });
        if let Some(Value::Object(upload)) = upload {
            for field in ["file_name", "mime_type"] {
                if let Some(value) = upload.get(field) {
                    document[field] = value.clone();
                }
            }
            if let Some(size) = upload.get("size") {
                document["file_size"] = size.clone();
            }
        }
        document
    }

    fn photo(&mut self, upload: Option<&Value>) -> Value {
        let file_id = match upload {
            Some(Value::String(file_id)) => file_id.clone(),
            _ => self.allocate_file_id("photo"),
        };
        json!([
            { "file_id": format!("{file_id}-s"), "file_unique_id": format!("u-{file_id}-s"), "width": 90, "height": 90 },
            { "file_id": file_id, "file_unique_id": format!("u-{file_id}"), "width": 800, "height": 800 },
        ])
    }

    fn forward(&mut self, method: &str, params: &Map<String, Value>) -> Result<Value, ApiError> {
        let (from_chat_id, _) = self.resolve_chat(params.get("from_chat_id"))?;
        let (chat_id, chat) = self.resolve_chat(params.get("chat_id"))?;
        let source_id = params.get("message_id").and_then(Value::as_i64).unwrap_or(0);
        let source = self.messages.get(&(from_chat_id, source_id)).cloned().unwrap_or_else(|| json!({ "text": "" }));
        let mut content: Map<String, Value> = ["text", "entities", "caption", "caption_entities", "document", "photo"]
            .into_iter()
            .filter_map(|field| Some((field.to_owned(), source.get(field)?.clone())))
            .collect();
        if method == "copyMessage" {
            if params.contains_key("caption") {
                content.insert("caption".to_owned(), json!(rendered(params, "caption")));
            }
            copy_message_options(params, &mut content);
            let copy = self.post_bot_message(chat_id, chat, content);
            return Ok(json!({ "message_id": copy["message_id"] }));
        }
        let date = source.get("date").cloned().unwrap_or_else(|| json!(unix_now()));
        let origin = match source.get("from") {
            Some(sender) => json!({ "type": "user", "date": date, "sender_user": sender }),
            None => json!({ "type": "hidden_user", "date": date, "sender_user_name": "Unknown" }),
        };
        content.insert("forward_origin".to_owned(), origin);
        Ok(self.post_bot_message(chat_id, chat, content))
    }

    /// Methods without a dedicated answer: something of the declared return type.
    fn answer_by_return_type(
        &mut self,
        spec: &Spec,
        method: &str,
        params: &Map<String, Value>,
    ) -> Result<Value, ApiError> {
        let returns = spec.methods.get(method).map(|m| m.returns.as_slice()).unwrap_or_default();
        let first = returns.first().map_or("Boolean", String::as_str);
        match first {
            "Message" if returns.iter().any(|r| r == "Boolean") => self.edit(method, params),
            "Message" => {
                let (chat_id, chat) = self.resolve_chat(params.get("chat_id"))?;
                let mut content = Map::new();
                if params.contains_key("caption") {
                    content.insert("caption".to_owned(), json!(rendered(params, "caption")));
                } else {
                    content.insert("text".to_owned(), json!(""));
                }
                copy_message_options(params, &mut content);
                Ok(self.post_bot_message(chat_id, chat, content))
            }
            "Array of Message" => {
                let (chat_id, chat) = self.resolve_chat(params.get("chat_id"))?;
                let media = params.get("media").and_then(Value::as_array).cloned().unwrap_or_default();
                let mut sent = Vec::new();
                for item in &media {
                    let mut content = Map::new();
                    match item.get("type").and_then(Value::as_str) {
                        Some("photo") => content.insert("photo".to_owned(), self.photo(item.get("media"))),
                        Some("document") => content.insert("document".to_owned(), self.document(item.get("media"))),
                        _ => content.insert("text".to_owned(), json!("")),
                    };
                    sent.push(self.post_bot_message(chat_id, chat.clone(), content));
                }
                Ok(Value::Array(sent))
            }
            "MessageId" => {
                let (chat_id, _) = self.resolve_chat(params.get("chat_id"))?;
                Ok(json!({ "message_id": self.allocate_message_id(chat_id) }))
            }
            "Array of MessageId" => {
                let (chat_id, _) = self.resolve_chat(params.get("chat_id"))?;
                let count = params.get("message_ids").and_then(Value::as_array).map_or(0, Vec::len);
                let ids = (0..count).map(|_| json!({ "message_id": self.allocate_message_id(chat_id) }));
                Ok(Value::Array(ids.collect()))
            }
            "Integer" => Ok(json!(0)),
            "String" => Ok(json!("")),
            other if other.starts_with("Array of ") => Ok(json!([])),
            _ => Ok(json!(true)),
        }
    }
}

/// `ChatFullInfo` for getChat: the Chat plus the fields teloxide requires.
fn chat_full_info(chat: Value) -> Value {
    let mut info = chat;
    info["accepted_gift_types"] = json!({
        "unlimited_gifts": false,
        "limited_gifts": false,
        "unique_gifts": false,
        "premium_subscription": false,
    });
    info["max_reaction_count"] = json!(11);
    info
}

/// Text or caption as Telegram stores it: markup removed when `parse_mode` is HTML.
pub(super) fn rendered(params: &Map<String, Value>, field: &str) -> String {
    let raw = params.get(field).and_then(Value::as_str).unwrap_or_default();
    match params.get("parse_mode").and_then(Value::as_str) {
        Some("HTML") => parse_html(raw).map_or_else(|_| raw.to_owned(), |html| html.text),
        _ => raw.to_owned(),
    }
}

/// A `reply_markup` that a Message can carry (only inline keyboards are echoed).
pub(super) fn inline_markup(params: &Map<String, Value>) -> Option<Value> {
    params.get("reply_markup").filter(|markup| markup.get("inline_keyboard").is_some()).cloned()
}

fn copy_message_options(params: &Map<String, Value>, content: &mut Map<String, Value>) {
    if let Some(markup) = inline_markup(params) {
        content.insert("reply_markup".to_owned(), markup);
    }
    if let Some(thread) = params.get("message_thread_id") {
        content.insert("message_thread_id".to_owned(), thread.clone());
    }
}
