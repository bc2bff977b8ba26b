//! End-to-end tests: the real bot against a fake Telegram Bot API on 127.0.0.1.
//! One test binary (faster to link than many); one module per feature.

mod fake_phone;
mod fake_telegram;
mod helpers;

mod anomaly;
mod binding;
mod calls;
mod contact;
mod lane;
mod language;
mod load;
mod patrol;
mod process;
mod restart;
mod robustness;
mod roles;
