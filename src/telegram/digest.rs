//! The lane's digests, drawn from what is stored: a burst of relays, confirmations, mentions,
//! private alerts or notices for one chat becomes one message, and a relay or confirmation
//! digest becomes the live message of every report it carries.

use std::sync::{Arc, Weak};

use futures::future::BoxFuture;

use super::lane::Digest;
use crate::db::{incidents, views};
use crate::domain::outbound::{MergeItem, MergeKind};
use crate::domain::render::digest::{self, mentioned_people};
use crate::jobs::Deps;

/// Renders and records digests for the lane. It holds the jobs' context weakly: that context
/// holds the lane, which holds this.
pub struct Digests {
    deps: Weak<Deps>,
}

impl Digests {
    pub fn new(deps: &Arc<Deps>) -> Digests {
        Digests { deps: Arc::downgrade(deps) }
    }

    fn deps(&self) -> anyhow::Result<Arc<Deps>> {
        self.deps.upgrade().ok_or_else(|| anyhow::anyhow!("the bot is stopping"))
    }

    async fn draw(&self, kind: MergeKind, chat_id: i64, items: &[MergeItem]) -> anyhow::Result<digest::Digest> {
        let deps = &self.deps()?;
        let lang = deps.chat_language(chat_id).await;
        let mut ids: Vec<i64> = items.iter().map(|item| item.subject).collect();
        ids.sort_unstable();
        ids.dedup();
        let views = views::of_incidents(&deps.db, &ids, &deps.team_settings_by_name()).await?;
        let mentioned = views::named(&deps.db, mentioned_people(items)).await?;
        Ok(digest::render(&deps.i18n, lang, kind, &views, items, &mentioned))
    }
}

impl Digest for Digests {
    fn render<'a>(
        &'a self,
        kind: MergeKind,
        chat_id: i64,
        items: &'a [MergeItem],
    ) -> BoxFuture<'a, anyhow::Result<digest::Digest>> {
        Box::pin(self.draw(kind, chat_id, items))
    }

    fn sent<'a>(
        &'a self,
        kind: MergeKind,
        chat_id: i64,
        message_id: i32,
        items: &'a [MergeItem],
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let ids: Vec<i64> = items.iter().map(|item| item.subject).collect();
            let deps = self.deps()?;
            let db = &deps.db;
            match kind {
                MergeKind::Relay => incidents::set_relay_message(db, &ids, chat_id, message_id, deps.now()).await,
                MergeKind::Confirmation => incidents::set_team_message(db, &ids, chat_id, message_id).await,
                MergeKind::Mention | MergeKind::PrivateAlert | MergeKind::Notice => Ok(()),
            }
        })
    }
}
