//! What the lane's handle and its dispatcher share: the API client, storage, the clock, the
//! limits, the queues under one lock, and the digest renderer.

use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use tokio::sync::Notify;

use super::api::BotApi;
use super::budget::Limits;
use super::queue::State;
use crate::clock::Clock;
use crate::db::Pool;
use crate::domain::outbound::{MergeItem, MergeKind};
use crate::domain::render::digest::Digest as Rendered;
use crate::domain::retry::Backoff;

/// Renders digests and records where they went. Implemented above the lane, which knows
/// nothing of incidents.
pub trait Digest: Send + Sync {
    /// The digest for `items` (at least two) in `chat_id`. It must fit one message.
    fn render<'a>(
        &'a self,
        kind: MergeKind,
        chat_id: i64,
        items: &'a [MergeItem],
    ) -> BoxFuture<'a, anyhow::Result<Rendered>>;

    /// The digest was sent as `message_id`: record it for every item before anyone waiting
    /// on one of them hears back, so that a live digest is never redrawn with items missing.
    fn sent<'a>(
        &'a self,
        kind: MergeKind,
        chat_id: i64,
        message_id: i32,
        items: &'a [MergeItem],
    ) -> BoxFuture<'a, anyhow::Result<()>>;
}

pub(super) struct Shared {
    pub(super) api: BotApi,
    pub(super) db: Pool,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) limits: Limits,
    pub(super) retry: Backoff,
    pub(super) state: Mutex<State>,
    pub(super) wake: Notify,
    pub(super) digest: OnceLock<Arc<dyn Digest>>,
}

impl Shared {
    pub(super) fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the queues half-changed in a way that
        // matters more than stopping would; carry on with what is there.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(super) fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }
}
