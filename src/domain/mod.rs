//! The pure core: floorbot's values and decisions, with no I/O. Nothing here talks to
//! Telegram, SQLite, a phone provider or a clock — every instant and every fact it needs is
//! passed in — so each rule is tested in microseconds.
//!
//! - [`team`]: roles, places, people.
//! - [`store`]: store accounts and platforms.
//! - [`contact`]: phone numbers and emergency contacts.
//! - [`incident`]: incidents, their kinds, severities and timeline events; who wins an
//!   acknowledgement.
//! - [`escalation`]: the chain, its targets, and whether a due step fires.
//! - [`calls`]: call statuses, merging calls per person, what a call says, call retries.
//! - [`schedule`]: the patrol's days, times and instants that survive DST changes.
//! - [`patrol`]: checklists, progress, routing findings by severity.
//! - [`retry`]: how long to wait before trying again.
//! - [`outbound`]: messages, buttons and digests as values.
//! - [`render`]: every message as text plus abstract buttons.

pub mod calls;
pub mod contact;
pub mod escalation;
pub mod incident;
pub mod outbound;
pub mod patrol;
pub mod render;
pub mod retry;
pub mod schedule;
pub mod store;
pub mod team;
