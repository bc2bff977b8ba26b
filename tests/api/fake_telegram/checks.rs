//! Checks beyond the spec's types, with the limits from the Bot API documentation:
//! formatting, text lengths, inline keyboards and bot commands. Each finding is a violation;
//! what Telegram itself would refuse also decides the 400 the fake answers.

use serde_json::{Map, Value};

use super::html::parse_html;

/// Limits from the Bot API documentation, counted in UTF-16 code units.
const MAX_TEXT_LEN: usize = 4096;
const MAX_CAPTION_LEN: usize = 1024;
const MAX_CALLBACK_ANSWER_LEN: usize = 200;
const MAX_CALLBACK_DATA_BYTES: usize = 64;
const MAX_INLINE_BUTTONS: usize = 100;
const MAX_BOT_COMMANDS: usize = 100;
const MAX_COMMAND_DESCRIPTION_LEN: usize = 256;
/// Fields of an inline keyboard button that give it an action; exactly one must be set.
const BUTTON_ACTIONS: &[&str] = &[
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
];

/// What the checks found about one request.
#[derive(Default)]
pub(super) struct Checks {
    pub(super) violations: Vec<String>,
    /// Description of the 400 Telegram itself would answer with, if it would refuse the request.
    pub(super) rejection: Option<String>,
}

impl Checks {
    pub(super) fn note(&mut self, violation: String) {
        self.violations.push(violation);
    }

    pub(super) fn reject(&mut self, violation: String, reason: &str) {
        self.violations.push(violation);
        self.rejection.get_or_insert_with(|| format!("Bad Request: {reason}"));
    }
}

/// Checks beyond the spec's types: formatting, length limits, keyboards, commands.
pub(super) fn check_semantics(method: &str, params: &Map<String, Value>, checks: &mut Checks) {
    for key in ["chat_id", "from_chat_id"] {
        if params.get(key).and_then(Value::as_i64) == Some(0) {
            checks.reject(format!("{method}: {key} is 0"), "chat not found");
        }
    }
    let parse_mode = params.get("parse_mode").and_then(Value::as_str);
    if let Some(mode) = parse_mode
        && !matches!(mode, "HTML" | "MarkdownV2" | "Markdown")
    {
        checks.reject(
            format!("{method}: unsupported parse_mode {mode:?}"),
            &format!("unsupported parse_mode \"{mode}\""),
        );
    }

    if matches!(method, "sendMessage" | "editMessageText")
        && let Some(text) = params.get("text").and_then(Value::as_str)
        && let Some(shown) = check_formatted(method, "text", text, parse_mode, checks)
    {
        if shown.trim().is_empty() {
            checks.reject(format!("{method}: text is empty after entity parsing"), "message text is empty");
        }
        let len = utf16_len(&shown);
        if len > MAX_TEXT_LEN {
            checks.reject(
                format!("{method}: text is {len} UTF-16 units long, over {MAX_TEXT_LEN}"),
                "message is too long",
            );
        }
    }
    if let Some(caption) = params.get("caption").and_then(Value::as_str)
        && let Some(shown) = check_formatted(method, "caption", caption, parse_mode, checks)
    {
        let len = utf16_len(&shown);
        if len > MAX_CAPTION_LEN {
            checks.reject(
                format!("{method}: caption is {len} UTF-16 units long, over {MAX_CAPTION_LEN}"),
                "message caption is too long",
            );
        }
    }
    if method == "answerCallbackQuery"
        && let Some(text) = params.get("text").and_then(Value::as_str)
        && utf16_len(text) > MAX_CALLBACK_ANSWER_LEN
    {
        checks.note(format!("{method}: text is over {MAX_CALLBACK_ANSWER_LEN} characters"));
    }
    if let Some(markup) = params.get("reply_markup") {
        check_inline_keyboard(method, markup, checks);
    }
    if method == "setMyCommands" {
        check_commands(params, checks);
    }
}

/// Validates HTML markup; returns the text as displayed, or None when Telegram would reject it.
fn check_formatted(
    method: &str,
    field: &str,
    raw: &str,
    parse_mode: Option<&str>,
    checks: &mut Checks,
) -> Option<String> {
    if parse_mode != Some("HTML") {
        return Some(raw.to_owned());
    }
    match parse_html(raw) {
        Ok(html) => {
            for warning in html.warnings {
                checks.note(format!("{method}: {field} HTML: {warning}"));
            }
            Some(html.text)
        }
        Err(reason) => {
            checks.reject(
                format!("{method}: {field} is not valid Telegram HTML: {reason}"),
                &format!("can't parse entities: {reason}"),
            );
            None
        }
    }
}

fn check_inline_keyboard(method: &str, markup: &Value, checks: &mut Checks) {
    let Some(rows) = markup.get("inline_keyboard").and_then(Value::as_array) else { return };
    let buttons = rows
        .iter()
        .enumerate()
        .flat_map(|(r, row)| row.as_array().into_iter().flatten().enumerate().map(move |(c, button)| (r, c, button)));
    let mut count = 0;
    for (r, c, button) in buttons {
        count += 1;
        let at = format!("{method}: inline_keyboard[{r}][{c}]");
        if let Some(data) = button.get("callback_data").and_then(Value::as_str) {
            if data.is_empty() {
                checks.reject(format!("{at}: callback_data is empty"), "BUTTON_DATA_INVALID");
            } else if data.len() > MAX_CALLBACK_DATA_BYTES {
                checks.reject(
                    format!("{at}: callback_data is {} bytes, over {MAX_CALLBACK_DATA_BYTES}: {data:?}", data.len()),
                    "BUTTON_DATA_INVALID",
                );
            }
        }
        let actions = BUTTON_ACTIONS.iter().filter(|action| button.get(**action).is_some()).count();
        if actions == 0 {
            checks.reject(
                format!("{at}: button has no action (callback_data, url, ...)"),
                "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard",
            );
        } else if actions > 1 {
            checks.note(format!("{at}: button has {actions} action fields, exactly one is allowed"));
        }
        if button.get("text").and_then(Value::as_str).is_some_and(|text| text.trim().is_empty()) {
            checks.note(format!("{at}: button text is empty"));
        }
    }
    if count > MAX_INLINE_BUTTONS {
        checks.reject(
            format!("{method}: inline keyboard has {count} buttons, over {MAX_INLINE_BUTTONS}"),
            "reply markup is too long",
        );
    }
}

fn check_commands(params: &Map<String, Value>, checks: &mut Checks) {
    if let Some(code) = params.get("language_code").and_then(Value::as_str)
        && !(code.len() == 2 && code.bytes().all(|b| b.is_ascii_lowercase()))
    {
        checks.reject(format!("setMyCommands: language_code {code:?} is not a two-letter code"), "LANG_CODE_INVALID");
    }
    let commands = params.get("commands").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    if commands.len() > MAX_BOT_COMMANDS {
        checks.note(format!("setMyCommands: {} commands, over {MAX_BOT_COMMANDS}", commands.len()));
    }
    for (i, command) in commands.iter().enumerate() {
        if let Some(name) = command.get("command").and_then(Value::as_str)
            && !is_command_name(name)
        {
            checks.reject(
                format!("setMyCommands: commands[{i}].command {name:?} does not match ^[a-z0-9_]{{1,32}}$"),
                "BOT_COMMAND_INVALID",
            );
        }
        if let Some(description) = command.get("description").and_then(Value::as_str) {
            let len = utf16_len(description);
            if description.trim().is_empty() || len > MAX_COMMAND_DESCRIPTION_LEN {
                checks.reject(
                    format!("setMyCommands: commands[{i}].description must be 1-{MAX_COMMAND_DESCRIPTION_LEN} characters, is {len}"),
                    "BOT_COMMAND_DESCRIPTION_INVALID",
                );
            }
        }
    }
}

fn is_command_name(name: &str) -> bool {
    (1..=32).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn utf16_len(text: &str) -> usize {
    text.encode_utf16().count()
}
