//! floorbot: a Telegram bot that runs the floor of an e-commerce customer-service team.
//!
//! # Layout
//! - [`config`]: the TOML file and environment, validated once at start.
//! - [`telemetry`]: logging with secrets redacted.
//! - [`clock`]: the time source (system clock in production, a settable one in tests).
//! - [`i18n`]: zh-CN and en texts from `locales/`.
//! - [`db`]: the SQLite pool and embedded migrations.
//! - [`telegram`]: the Telegram edge (handler tree, commands, permission check, sending).
//! - [`team`]: teams, bound groups, people, roles, the supervisor on duty.
//! - [`contact`]: private phone numbers and emergency contacts.
//! - [`store`]: the store accounts each team covers.
//! - [`anomaly`]: store anomaly reports and the step-by-step report form.
//! - [`incident`]: incidents, their timeline, acknowledgement, resolution and live messages.
//! - [`digest`]: what a burst of relays, confirmations or alerts becomes in one chat.
//! - [`escalation`]: the escalation chain as pure rules.
//! - [`scheduler`]: the durable job runner behind every deadline.
//! - [`phone`]: the phone-call edge (Twilio, or a webhook).
//! - [`app`]: wires the pieces together; `floorbot run` and the tests both start here.

pub mod anomaly;
pub mod app;
pub mod clock;
pub mod config;
pub mod contact;
pub mod db;
pub mod digest;
pub mod escalation;
pub mod i18n;
pub mod incident;
pub mod patrol;
pub mod phone;
pub mod scheduler;
pub mod store;
pub mod team;
pub mod telegram;
pub mod telemetry;

pub use app::{App, Edges};
