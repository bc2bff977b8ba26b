//! floorbot: a Telegram bot that runs the floor of an e-commerce customer-service team.
//!
//! # Layout
//! Arrows point down; nothing imports from a layer above it.
//! - [`app`]: wires the pieces together; `floorbot run` and the tests both start here.
//! - [`telegram`], [`phone`]: the edges. Commands, buttons, the outbound lane; calls.
//! - [`jobs`]: the durable runner behind every deadline, and the ports the edges implement.
//! - [`db`]: SQLite repositories returning domain types.
//! - [`domain`]: pure types and decisions (escalation, acknowledgement, patrol routing,
//!   renders); no I/O, time passed in.
//!
//! Beside them, used by all: [`config`] (the file and environment, validated once),
//! [`i18n`] (texts from `locales/`), [`html`] (escaping), [`clock`] (the time source) and
//! [`telemetry`] (logging with secrets redacted).

pub mod app;
pub mod clock;
pub mod config;
pub mod db;
pub mod domain;
pub mod html;
pub mod i18n;
pub mod jobs;
pub mod phone;
pub mod telegram;
pub mod telemetry;

pub use app::{App, Edges};
