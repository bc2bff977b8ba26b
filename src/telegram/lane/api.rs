//! The Bot API requests the lane makes, as plain JSON over HTTP.
//!
//! teloxide still receives updates; sending goes through this thin client so that the lane
//! sees every answer as Telegram gave it (`retry_after`, `migrate_to_chat_id`, the
//! description) and decides itself when to try again: teloxide's request layer sleeps ten
//! seconds of real time after every 5xx, which would stall the lane and every test.

use std::time::Duration;

use serde_json::{Value, json};
use url::Url;

use crate::config::Secret;

/// How one request to Telegram went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// 429: the chat (or the bot) must wait this long.
    RetryAfter(Duration),
    /// The group became a supergroup with this id.
    Migrated(i64),
    /// Telegram refused the request (4xx); its description.
    Refused { code: u16, description: String },
    /// Telegram or the network failed; worth trying again.
    Transient(String),
}

impl ApiError {
    pub fn description(&self) -> String {
        match self {
            ApiError::RetryAfter(wait) => format!("too many requests; retry after {}s", wait.as_secs()),
            ApiError::Migrated(id) => format!("group migrated to supergroup {id}"),
            ApiError::Refused { code, description } => format!("{code}: {description}"),
            ApiError::Transient(reason) => reason.clone(),
        }
    }

    /// "message is not modified" — harmless, but the lane is built never to provoke it.
    pub fn is_not_modified(&self) -> bool {
        matches!(self, ApiError::Refused { description, .. } if description.contains("message is not modified"))
    }
}

/// The message a send produced: its chat (which may differ after a migration) and id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SentMessage {
    pub chat_id: i64,
    pub message_id: i32,
}

/// A Bot API endpoint with its token. The token only ever appears in request URLs, and
/// errors are stripped of URLs before anyone sees them.
#[derive(Clone)]
pub struct BotApi {
    client: reqwest::Client,
    base: Url,
    token: Secret,
}

impl BotApi {
    pub fn new(base: Url, token: Secret, timeout: Duration) -> anyhow::Result<BotApi> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("floorbot/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(BotApi { client, base, token })
    }

    fn url(&self, method: &str) -> Url {
        let mut url = self.base.clone();
        let path = format!("{}/bot{}/{method}", self.base.path().trim_end_matches('/'), self.token.expose());
        url.set_path(&path);
        url
    }

    /// Calls `method` with a JSON body and returns Telegram's `result`.
    pub async fn call(&self, method: &str, body: &Value) -> Result<Value, ApiError> {
        self.send(self.client.post(self.url(method)).json(body)).await
    }

    /// Calls `method` with a multipart body (documents).
    pub async fn call_multipart(&self, method: &str, form: reqwest::multipart::Form) -> Result<Value, ApiError> {
        self.send(self.client.post(self.url(method)).multipart(form)).await
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Value, ApiError> {
        let response = request.send().await.map_err(|error| ApiError::Transient(error.without_url().to_string()))?;
        let status = response.status();
        let text = response.text().await.map_err(|error| ApiError::Transient(error.without_url().to_string()))?;
        interpret(status.as_u16(), &text)
    }
}

/// Reads Telegram's answer: `{"ok": true, "result": …}` or an error with its parameters.
fn interpret(status: u16, text: &str) -> Result<Value, ApiError> {
    let Ok(body) = serde_json::from_str::<Value>(text) else {
        return Err(ApiError::Transient(format!("HTTP {status} with an answer that is not Telegram's JSON")));
    };
    if body["ok"].as_bool() == Some(true) {
        return Ok(body["result"].clone());
    }
    let code = body["error_code"].as_u64().and_then(|code| u16::try_from(code).ok()).unwrap_or(status);
    let description = body["description"].as_str().unwrap_or("no description").to_owned();
    if let Some(seconds) = body["parameters"]["retry_after"].as_u64() {
        return Err(ApiError::RetryAfter(Duration::from_secs(seconds.max(1))));
    }
    if let Some(chat_id) = body["parameters"]["migrate_to_chat_id"].as_i64() {
        return Err(ApiError::Migrated(chat_id));
    }
    if code == 429 {
        return Err(ApiError::RetryAfter(Duration::from_secs(1)));
    }
    if code >= 500 || status >= 500 {
        return Err(ApiError::Transient(format!("{code}: {description}")));
    }
    Err(ApiError::Refused { code, description })
}

/// Reads the chat and message id out of a sent Message.
pub fn sent_message(result: &Value) -> Option<SentMessage> {
    let chat_id = result["chat"]["id"].as_i64()?;
    let message_id = i32::try_from(result["message_id"].as_i64()?).ok()?;
    Some(SentMessage { chat_id, message_id })
}

/// Link previews stay off: relays and checklists are read, not browsed.
pub fn no_preview() -> Value {
    json!({ "is_disabled": true })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn telegram_answers_are_classified() {
        assert_eq!(interpret(200, r#"{"ok":true,"result":{"message_id":5}}"#), Ok(json!({"message_id": 5})));
        assert_eq!(
            interpret(
                429,
                r#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 7","parameters":{"retry_after":7}}"#
            ),
            Err(ApiError::RetryAfter(Duration::from_secs(7)))
        );
        assert_eq!(
            interpret(
                400,
                r#"{"ok":false,"error_code":400,"description":"Bad Request: group chat was upgraded to a supergroup chat","parameters":{"migrate_to_chat_id":-1001}}"#
            ),
            Err(ApiError::Migrated(-1001))
        );
        assert!(matches!(interpret(502, "<html>Bad Gateway</html>"), Err(ApiError::Transient(_))));
        assert!(matches!(
            interpret(502, r#"{"ok":false,"error_code":502,"description":"Bad Gateway"}"#),
            Err(ApiError::Transient(_))
        ));
        let refused =
            interpret(400, r#"{"ok":false,"error_code":400,"description":"Bad Request: message is not modified: x"}"#);
        assert!(refused.as_ref().is_err_and(ApiError::is_not_modified), "{refused:?}");
        assert_eq!(
            interpret(403, r#"{"ok":false,"error_code":403,"description":"Forbidden: bot was blocked by the user"}"#),
            Err(ApiError::Refused { code: 403, description: "Forbidden: bot was blocked by the user".into() })
        );
    }

    #[test]
    fn a_sent_message_yields_its_chat_and_id() {
        let result = json!({"message_id": 42, "chat": {"id": -100123, "type": "supergroup"}});
        assert_eq!(sent_message(&result), Some(SentMessage { chat_id: -100123, message_id: 42 }));
        assert_eq!(sent_message(&json!(true)), None);
    }
}
