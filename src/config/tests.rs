//! Configuration tests: defaults, every key's validation naming its path, secrets masked.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use super::*;

const TOKEN: &str = "123456789:AAEhBOweik6ad9r_QBxLhXu0J8yQ0vX1AbC";

fn load(text: Option<&str>, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let env: HashMap<String, String> = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    let lookup = move |name: &str| env.get(name).cloned();
    let sources = Sources { config_flag: None, env: &lookup };
    Config::from_parts(text, text.map(|_| PathBuf::from("/etc/floorbot/floorbot.toml")), &sources)
}

fn key_of_error(text: Option<&str>, env: &[(&str, &str)]) -> String {
    match load(text, env) {
        Ok(_) => format!("(accepted: {text:?} {env:?})"),
        Err(error) => error.key,
    }
}

#[test]
fn no_file_gives_the_defaults() {
    let config = load(None, &[]).expect("defaults are valid");
    assert_eq!(config.timezone, chrono_tz::Asia::Shanghai);
    assert_eq!(config.language, Lang::ZhCn);
    assert!(config.supervisors.is_empty());
    assert_eq!(config.database_url, "sqlite://floorbot.db");
    assert!(config.telegram.token.is_none());
    assert_eq!(config.telegram.limits, Limits::default());
    assert!(matches!(config.phone, PhoneConfig::None));
}

#[test]
fn the_database_sits_beside_the_config_file() {
    let config = load(Some("timezone = \"Europe/Berlin\"\nsupervisors = [11, 12, 11]"), &[]).expect("valid");
    assert_eq!(config.database_url, "sqlite:///etc/floorbot/floorbot.db");
    assert_eq!(config.supervisors, vec![11, 12]);
    assert_eq!(config.timezone, chrono_tz::Europe::Berlin);
}

#[test]
fn bad_values_name_the_path_of_their_key() {
    /// (file text, environment, the key the error must name)
    type Case<'a> = (Option<&'a str>, &'a [(&'a str, &'a str)], &'a str);
    let cases: &[Case<'_>] = &[
        (Some("timezone = \"Mars/Base\""), &[], "timezone"),
        (Some("language = \"fr\""), &[], "language"),
        (Some("supervisors = [\"bob\"]"), &[], "supervisors"),
        (Some("supervisors = 5"), &[], "supervisors"),
        (Some("supervisors = [-3]"), &[], "supervisors"),
        (Some("timzone = \"Asia/Shanghai\""), &[], "timzone"),
        (Some("[teams.x]\ncolour = \"red\""), &[], "teams.x.colour"),
        (Some("[phone]\nprovider = \"carrier-pigeon\""), &[], "phone.provider"),
        (Some("[phone]\nring_timeout = \"2s\""), &[], "phone.ring_timeout"),
        (Some("[phone]\nwebhook_url = \"ftp://x\""), &[], "phone.webhook_url"),
        (Some("[telegram]\nchat_per_second = 2"), &[], "telegram.chat_per_second"),
        (Some("[telegram]\ngroup_burst = 1.5"), &[], "telegram.group_burst"),
        (Some("[telegram]\noverall_burst = 0"), &[], "telegram.overall_burst"),
        (Some("[telegram]\nedit_spacing = \"2m\""), &[], "telegram.edit_spacing"),
        (Some("[telegram]\nspeed = 3"), &[], "telegram.speed"),
        (Some("database_url = \"postgres://x\""), &[], "database_url"),
        (None, &[("TELOXIDE_TOKEN", "nonsense")], "TELOXIDE_TOKEN"),
        (None, &[("TELOXIDE_API_URL", "ftp://x")], "TELOXIDE_API_URL"),
        (None, &[("TELOXIDE_API_URL", "not a url")], "TELOXIDE_API_URL"),
        (None, &[("FLOORBOT_DATABASE_URL", "postgres://x")], "FLOORBOT_DATABASE_URL"),
        (None, &[("TWILIO_ACCOUNT_SID", "AC1")], "TWILIO_ACCOUNT_SID"),
        (Some("[phone]\nprovider = \"twilio\""), &[], "TWILIO_ACCOUNT_SID"),
    ];
    for (text, env, key) in cases {
        assert_eq!(key_of_error(*text, env), *key, "for {text:?} {env:?}");
    }
}

#[test]
fn twilio_needs_all_three_variables() {
    let sid = ("TWILIO_ACCOUNT_SID", "AC0123456789abcdef0123456789abcdef");
    let token = ("TWILIO_AUTH_TOKEN", "secret-auth-token");
    let from = ("TWILIO_FROM_NUMBER", "+8613800138000");
    assert_eq!(key_of_error(None, &[sid, token]), "TWILIO_FROM_NUMBER");
    assert_eq!(key_of_error(None, &[sid, from]), "TWILIO_AUTH_TOKEN");
    assert_eq!(key_of_error(None, &[sid, token, ("TWILIO_FROM_NUMBER", "13800")]), "TWILIO_FROM_NUMBER");
    let config = load(Some("[phone]\nvoice_zh = \"Polly.Zhiyu-Neural\"\nring_timeout = \"45s\""), &[sid, token, from])
        .expect("valid");
    let PhoneConfig::Twilio { voice, ring_timeout, .. } = &config.phone else {
        panic!("expected Twilio, got {:?}", config.phone);
    };
    assert_eq!((voice.zh.as_str(), voice.en.as_str()), ("Polly.Zhiyu-Neural", "Polly.Joanna"));
    assert_eq!(*ring_timeout, Duration::from_secs(45));
    let described = config.describe();
    assert!(!described.contains("secret-auth-token") && !described.contains("13800138000"), "{described}");
    assert!(!format!("{config:?}").contains("secret-auth-token"));
    // provider = "none" wins over the variables.
    let config = load(Some("[phone]\nprovider = \"none\""), &[sid, token, from]).expect("valid");
    assert!(matches!(config.phone, PhoneConfig::None));
}

#[test]
fn a_bad_token_is_not_repeated_in_the_error() {
    let error = load(None, &[("TELOXIDE_TOKEN", "123:short")]).expect_err("bad");
    assert!(!error.to_string().contains("short"));
}

#[test]
fn secrets_are_masked_everywhere() {
    let config = load(None, &[("TELOXIDE_TOKEN", TOKEN)]).expect("valid");
    let described = config.describe();
    assert!(described.contains("123456789:********"));
    assert!(!described.contains("AAEh"));
    assert!(!format!("{config:?}").contains("AAEh"));
}

#[test]
fn environment_overrides_the_database_url() {
    let config =
        load(Some("database_url = \"sqlite://a.db\""), &[("FLOORBOT_DATABASE_URL", "sqlite://b.db")]).expect("valid");
    assert_eq!(config.database_url, "sqlite://b.db");
}

#[test]
fn telegram_limits_may_be_tightened() {
    let config = load(Some("[telegram]\nchat_per_second = 0.5\ngroup_per_minute = 10\nedit_spacing = \"5s\""), &[])
        .expect("valid");
    let limits = config.telegram.limits;
    assert_eq!((limits.per_chat.count, limits.per_chat.per), (0.5, Duration::from_secs(1)));
    assert_eq!((limits.per_group.count, limits.per_group.per), (10.0, Duration::from_secs(60)));
    assert_eq!(limits.edit_spacing, Duration::from_secs(5));
    assert_eq!(limits.overall, Limits::default().overall);
}

#[test]
fn escalation_chains_are_checked_and_teams_may_override_them() {
    let text = r#"
        [escalation]
        chain = [ { after = "90s", actions = ["call"], target = "duty" } ]
        [teams."天猫一组".escalation]
        chain = [ { after = "1m", actions = ["mention"], target = "role:lead" } ]
    "#;
    let config = load(Some(text), &[]).expect("valid");
    assert_eq!(config.escalation.steps[0].after, Duration::from_secs(90));
    assert_eq!(config.chain_for("天猫一组").steps[0].after, Duration::from_secs(60));
    assert_eq!(config.chain_for("京东组").steps[0].after, Duration::from_secs(90));
    assert!(config.describe().contains("after 1m30s: call -> duty"), "{}", config.describe());

    assert_eq!(key_of_error(Some("[escalation]\nchain = []"), &[]), "escalation");
    let unknown_target =
        "[teams.x.escalation]\nchain = [ { after = \"5m\", actions = [\"call\"], target = \"boss\" } ]";
    assert_eq!(key_of_error(Some(unknown_target), &[]), "teams.x.escalation.chain[0].target");
}

#[test]
fn teams_may_have_their_own_zone_and_patrol() {
    let text = r#"
        [teams."天猫一组"]
        timezone = "Europe/Berlin"
        patrol = { at = "08:00", days = "周一-周五", deadline = "09:00" }
    "#;
    let config = load(Some(text), &[]).expect("valid");
    assert_eq!(config.timezone_for("天猫一组"), chrono_tz::Europe::Berlin);
    assert_eq!(config.timezone_for("京东组"), chrono_tz::Asia::Shanghai);
    let patrol = config.patrol_for("天猫一组").expect("a patrol");
    assert_eq!((patrol.at, patrol.days), (LocalTime { hour: 8, minute: 0 }, Days::WORKDAYS));
    assert_eq!(key_of_error(Some("[teams.x]\npatrol = { at = \"25:99\" }"), &[]), "teams.x.patrol.at");
    assert_eq!(
        key_of_error(Some("[teams.x]\npatrol = { at = \"09:00\", deadline = \"08:00\" }"), &[]),
        "teams.x.patrol"
    );
    assert_eq!(key_of_error(Some("[teams.x]\npatrol = { days = \"funday\" }"), &[]), "teams.x.patrol.days");
}

#[test]
fn the_webhook_provider_needs_a_url() {
    assert_eq!(key_of_error(Some("[phone]\nprovider = \"webhook\""), &[]), "phone.webhook_url");
    let config =
        load(Some("[phone]\nprovider = \"webhook\"\nwebhook_url = \"http://127.0.0.1:9/call\""), &[]).expect("valid");
    assert!(matches!(config.phone, PhoneConfig::Webhook { .. }));
}

#[test]
fn the_example_configuration_is_valid_and_means_the_defaults() {
    let example = include_str!("../../floorbot.example.toml");
    let config = load(Some(example), &[]).expect("the example is valid");
    assert_eq!(config.escalation, Chain::default());
    assert_eq!(config.timezone, chrono_tz::Asia::Shanghai);
    // Its commented team section is valid too once uncommented.
    let uncommented: String = example
        .lines()
        .map(|line| match line.strip_prefix("# ") {
            Some(rest)
                if rest.starts_with("[teams")
                    || rest.starts_with("timezone =")
                    || rest.starts_with("patrol =")
                    || rest.starts_with("chain =") =>
            {
                rest
            }
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n");
    let config = load(Some(&uncommented), &[]).expect("the team section is valid");
    assert!(config.patrol_for("天猫一组").is_some());
    assert_eq!(config.chain_for("天猫一组").steps.len(), 1);
}

#[test]
fn warnings_mention_the_missing_phone_provider() {
    let config = load(None, &[]).expect("valid");
    assert!(config.warnings().iter().any(|w| w.contains("no phone provider configured")));
}
