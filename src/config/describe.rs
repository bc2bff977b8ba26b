//! The effective configuration as `floorbot check-config` prints it, every secret masked.

use std::fmt::Write as _;

use super::{Config, PhoneConfig, Secret};
use crate::domain::contact::mask_number;
use crate::domain::escalation::{Chain, format_delay};

impl Config {
    /// The effective configuration, secrets masked.
    pub fn describe(&self) -> String {
        let mut out = String::new();
        let file = self.file.as_ref().map(|path| path.display().to_string()).unwrap_or_else(|| "(none)".to_owned());
        let _ = writeln!(out, "# configuration file: {file}");
        let _ = writeln!(out, "timezone = {:?}", self.timezone.name());
        let _ = writeln!(out, "language = {:?}", self.language.tag());
        let _ = writeln!(out, "supervisors = {:?}", self.supervisors);
        let _ = writeln!(out, "database_url = {:?}", self.database_url);
        out.push_str("\n# environment\n");
        let token = match &self.telegram.token {
            Some(token) => mask_token(token),
            None => "(not set)".to_owned(),
        };
        let _ = writeln!(out, "TELOXIDE_TOKEN = {token}");
        let _ = writeln!(out, "TELOXIDE_API_URL = {}", self.telegram.api_url);
        let limits = &self.telegram.limits;
        let _ = writeln!(
            out,
            "telegram limits = {}/s per chat (burst {}), {}/min per group (burst {}), {}/s overall (burst {}); edits of one message {} apart",
            limits.per_chat.count,
            limits.per_chat.burst,
            limits.per_group.count,
            limits.per_group.burst,
            limits.overall.count,
            limits.overall.burst,
            format_delay(limits.edit_spacing)
        );
        describe_phone(&mut out, &self.phone);
        out.push_str("\n# escalation (default chain)\n");
        describe_chain(&mut out, &self.escalation);
        for (name, team) in &self.teams {
            if let Some(chain) = &team.escalation {
                let _ = writeln!(out, "\n# escalation for team {name:?}");
                describe_chain(&mut out, chain);
            }
        }
        out
    }
}

fn describe_phone(out: &mut String, phone: &PhoneConfig) {
    match phone {
        PhoneConfig::None => out.push_str("phone provider = (none)\n"),
        PhoneConfig::Twilio { account_sid, from_number, api_url, voice, ring_timeout, .. } => {
            out.push_str("phone provider = twilio\n");
            let _ = writeln!(out, "TWILIO_ACCOUNT_SID = {}", mask_tail(account_sid));
            out.push_str("TWILIO_AUTH_TOKEN = ********\n");
            let _ = writeln!(out, "TWILIO_FROM_NUMBER = {}", mask_number(from_number));
            let _ = writeln!(out, "TWILIO_API_URL = {api_url}");
            let _ = writeln!(
                out,
                "voices = zh {:?}, en {:?}; ring timeout {}",
                voice.zh,
                voice.en,
                format_delay(*ring_timeout)
            );
        }
        PhoneConfig::Webhook { url } => {
            out.push_str("phone provider = webhook\n");
            let _ = writeln!(out, "webhook_url = {}://{}/…", url.scheme(), url.host_str().unwrap_or(""));
        }
    }
}

fn describe_chain(out: &mut String, chain: &Chain) {
    for step in &chain.steps {
        let actions: Vec<&str> = step.actions.iter().map(|action| action.as_str()).collect();
        let _ = writeln!(out, "after {}: {} -> {}", format_delay(step.after), actions.join(", "), step.target);
    }
    let _ = writeln!(
        out,
        "call_retry: {} more time(s), {} after a failed call",
        chain.call_retry.times,
        format_delay(chain.call_retry.after)
    );
}

/// Shows only the bot id part of a token (`123456:…`), which is public anyway.
fn mask_token(token: &Secret) -> String {
    match token.expose().split_once(':') {
        Some((bot_id, _)) => format!("{bot_id}:********"),
        None => "********".to_owned(),
    }
}

fn mask_tail(value: &str) -> String {
    let visible: String = value.chars().take(4).collect();
    format!("{visible}********")
}
