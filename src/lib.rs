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
//! - [`app`]: wires the pieces together; `floorbot run` and the tests both start here.

pub mod app;
pub mod clock;
pub mod config;
pub mod contact;
pub mod db;
pub mod i18n;
pub mod team;
pub mod telegram;
pub mod telemetry;

pub use app::{App, Edges};
