//! Logging: readable text by default, JSON on request, level from `RUST_LOG`, and secrets
//! (the bot token, provider credentials) replaced before any line is written.

use std::io::{IsTerminal, Write};
use std::sync::Arc;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// What replaces a secret in the output.
pub const REDACTED: &str = "[REDACTED]";

/// Replaces every secret (and its URL-encoded form) in `text`.
pub fn redact(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_owned();
    for secret in secrets.iter().filter(|secret| secret.len() >= 6) {
        out = out.replace(secret.as_str(), REDACTED);
        let encoded = secret.replace(':', "%3A");
        if encoded != *secret {
            out = out.replace(&encoded, REDACTED);
        }
    }
    out
}

/// The parts of a bot token worth hiding: the whole token and its secret half, so that no
/// form of it (in a URL, encoded, split) survives.
pub fn token_secrets(token: &str) -> Vec<String> {
    let mut secrets = vec![token.to_owned()];
    if let Some((_, secret)) = token.split_once(':') {
        secrets.push(secret.to_owned());
    }
    secrets
}

/// Writes each log line to stderr after redacting it as a whole (a line is buffered until the
/// formatter is done with it, so a secret split across writes is still caught).
#[derive(Clone)]
pub struct RedactingStderr {
    secrets: Arc<Vec<String>>,
}

impl RedactingStderr {
    pub fn new(secrets: Vec<String>) -> Self {
        Self { secrets: Arc::new(secrets) }
    }
}

pub struct LineBuffer {
    buffer: Vec<u8>,
    secrets: Arc<Vec<String>>,
}

impl Write for LineBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LineBuffer {
    fn drop(&mut self) {
        if self.buffer.is_empty() {
            return;
        }
        let text = redact(&String::from_utf8_lossy(&self.buffer), &self.secrets);
        // Nothing sensible can be done if stderr itself fails.
        let _ = std::io::stderr().lock().write_all(text.as_bytes());
    }
}

impl<'a> MakeWriter<'a> for RedactingStderr {
    type Writer = LineBuffer;

    fn make_writer(&'a self) -> Self::Writer {
        LineBuffer { buffer: Vec::new(), secrets: Arc::clone(&self.secrets) }
    }
}

/// Installs the global subscriber (and the bridge for libraries that use the `log` crate).
pub fn init(format: LogFormat, secrets: Vec<String>) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let writer = RedactingStderr::new(secrets);
    let colours = std::io::stderr().is_terminal();
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(writer).with_ansi(colours);
    let result = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    if let Err(error) = result {
        eprintln!("floorbot: logging already initialised: {error}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_of_the_token_is_redacted() {
        let token = "123456789:AAEhBOweik6ad9r_QBxLhXu0J8yQ0vX1AbC";
        let secrets = token_secrets(token);
        let line = format!(
            "GET https://api/bot{token}/getMe and bot123456789%3AAAEhBOweik6ad9r_QBxLhXu0J8yQ0vX1AbC and AAEhBOweik6ad9r_QBxLhXu0J8yQ0vX1AbC"
        );
        let redacted = redact(&line, &secrets);
        assert!(!redacted.contains("AAEh"), "{redacted}");
        assert_eq!(redacted.matches(REDACTED).count(), 3);
    }
}
