//! Digests: what a burst of relays, confirmations, mentions, private alerts or notices
//! becomes when it queues for one chat faster than Telegram lets floorbot send.
//!
//! A relay or confirmation digest is a live message like the single relay it replaces: one
//! line per report (number, store, kind, the first 60 characters, the reporter, its state)
//! and a button per open report, redrawn as each is acknowledged or resolved. The same
//! renderer draws it when the lane sends it and whenever an incident on it changes, so the
//! two agree and an unchanged digest is never edited.

use std::sync::Arc;

use futures::future::BoxFuture;
use sqlx::SqlitePool;
use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};

use crate::clock::Clock;
use crate::config::Config;
use crate::i18n::{Arg, I18n, Lang};
use crate::incident::{self, EventKind, Incident};
use crate::telegram::Floor;
use crate::telegram::callback::CallbackData;
use crate::telegram::lane::{Digest, MergeItem, MergeKind, Rendered};
use crate::{store, t, team, tp};

/// Characters of a description a digest line shows.
const LINE_TEXT_CHARS: usize = 60;
/// Characters of a name a digest line shows.
const LINE_NAME_CHARS: usize = 20;
/// Buttons per keyboard row.
const BUTTONS_PER_ROW: usize = 3;

/// Renders and records digests for the lane.
pub struct Digests {
    db: SqlitePool,
    i18n: Arc<I18n>,
    config: Arc<Config>,
    clock: Arc<dyn Clock>,
}

impl Digests {
    pub fn new(floor: &Floor) -> Digests {
        Digests {
            db: floor.db.clone(),
            i18n: Arc::clone(&floor.i18n),
            config: Arc::clone(&floor.config),
            clock: Arc::clone(&floor.clock),
        }
    }

    async fn lang(&self, chat_id: i64) -> Lang {
        team::chat_language(&self.db, chat_id).await.ok().flatten().unwrap_or(self.config.language)
    }

    async fn incidents(&self, items: &[MergeItem]) -> anyhow::Result<Vec<Incident>> {
        let mut incidents = Vec::with_capacity(items.len());
        for item in items {
            if let Some(incident) = incident::get(&self.db, item.subject).await? {
                incidents.push(incident);
            }
        }
        incidents.sort_by_key(|incident| incident.id);
        incidents.dedup_by_key(|incident| incident.id);
        Ok(incidents)
    }

    async fn render_kind(&self, kind: MergeKind, chat_id: i64, items: &[MergeItem]) -> anyhow::Result<Rendered> {
        let lang = self.lang(chat_id).await;
        let incidents = self.incidents(items).await?;
        let view = View { db: &self.db, i18n: &self.i18n, config: &self.config, lang };
        Ok(match kind {
            MergeKind::Relay | MergeKind::Confirmation => view.board(kind, &incidents).await?,
            MergeKind::Mention => view.mention(items, &incidents).await?,
            MergeKind::PrivateAlert => view.private_alert(&incidents).await?,
            MergeKind::Notice => view.notices(items, &incidents).await?,
        })
    }
}

impl Digest for Digests {
    fn render<'a>(
        &'a self,
        kind: MergeKind,
        chat_id: i64,
        items: &'a [MergeItem],
    ) -> BoxFuture<'a, anyhow::Result<Rendered>> {
        Box::pin(self.render_kind(kind, chat_id, items))
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
            match kind {
                MergeKind::Relay => {
                    incident::set_relay_message(&self.db, &ids, chat_id, message_id, self.clock.now()).await
                }
                MergeKind::Confirmation => incident::set_team_message(&self.db, &ids, chat_id, message_id).await,
                MergeKind::Mention | MergeKind::PrivateAlert | MergeKind::Notice => Ok(()),
            }
        })
    }
}

/// What a digest is drawn with.
pub struct View<'a> {
    pub db: &'a SqlitePool,
    pub i18n: &'a I18n,
    pub config: &'a Config,
    pub lang: Lang,
}

fn short(text: &str, limit: usize) -> String {
    let mut cut: String = text.chars().take(limit).collect();
    if text.chars().count() > limit {
        cut.push('…');
    }
    cut
}

impl View<'_> {
    /// "team · store · kind", or "team · kind" for a finding without a store (plain text).
    async fn what(&self, incident: &Incident) -> sqlx::Result<String> {
        let (i18n, lang) = (self.i18n, self.lang);
        let team = short(&team::team_name(self.db, incident.team_id).await?, LINE_NAME_CHARS);
        let kind = incident.kind_label(i18n, lang);
        let store = store::label_of(self.db, i18n, lang, incident.store_id).await?;
        Ok(if store.is_empty() {
            tp!(i18n, lang, "digest-what", team = team, kind = kind)
        } else {
            tp!(i18n, lang, "digest-what-store", team = team, store = short(&store, 2 * LINE_NAME_CHARS), kind = kind)
        })
    }

    async fn short_name(&self, person: Option<i64>) -> sqlx::Result<String> {
        Ok(match person {
            Some(id) => match team::person(self.db, id).await? {
                Some(person) => short(&person.display_name(), LINE_NAME_CHARS),
                None => id.to_string(),
            },
            None => String::new(),
        })
    }

    fn time(&self, at: chrono::DateTime<chrono::Utc>) -> String {
        incident::clock_time(at, self.config.timezone)
    }

    /// The relay or confirmation digest: one line per report and a button per open one.
    pub async fn board(&self, kind: MergeKind, incidents: &[Incident]) -> anyhow::Result<Rendered> {
        let (i18n, lang) = (self.i18n, self.lang);
        let mut lines = vec![match kind {
            MergeKind::Confirmation => t!(i18n, lang, "digest-team-header", count = incidents.len()),
            _ => t!(i18n, lang, "digest-relay-header", count = incidents.len()),
        }];
        let mut buttons = Vec::new();
        for incident in incidents {
            let state = if incident.resolved_at.is_some() {
                tp!(i18n, lang, "digest-state-resolved", person = self.short_name(incident.resolved_by).await?)
            } else if incident.acknowledged_at.is_some() {
                tp!(i18n, lang, "digest-state-acknowledged", person = self.short_name(incident.acknowledged_by).await?)
            } else {
                tp!(i18n, lang, "digest-state-waiting")
            };
            lines.push(t!(
                i18n,
                lang,
                "digest-line",
                icon = incident.severity().icon(),
                number = incident.id,
                what = self.what(incident).await?,
                text = short(&incident.description, LINE_TEXT_CHARS),
                person = self.short_name(Some(incident.reporter_id)).await?,
                time = self.time(incident.reported_at),
                state = state
            ));
            if incident.acknowledged_at.is_none() {
                buttons.push(InlineKeyboardButton::callback(
                    tp!(i18n, lang, "digest-button-acknowledge", number = incident.id),
                    CallbackData::Acknowledge(incident.id).encode(),
                ));
            } else if incident.resolved_at.is_none() {
                buttons.push(InlineKeyboardButton::callback(
                    tp!(i18n, lang, "digest-button-resolve", number = incident.id),
                    CallbackData::Resolve(incident.id).encode(),
                ));
            }
        }
        let keyboard = (!buttons.is_empty())
            .then(|| InlineKeyboardMarkup::new(buttons.chunks(BUTTONS_PER_ROW).map(<[_]>::to_vec).collect::<Vec<_>>()));
        Ok(Rendered { html: lines.join("\n"), keyboard })
    }

    async fn mention(&self, items: &[MergeItem], incidents: &[Incident]) -> anyhow::Result<Rendered> {
        let (i18n, lang) = (self.i18n, self.lang);
        let mut people: Vec<i64> = Vec::new();
        for item in items {
            for id in item.detail.as_deref().unwrap_or_default().split(',').filter_map(|id| id.parse::<i64>().ok()) {
                if !people.contains(&id) {
                    people.push(id);
                }
            }
        }
        let mut mentions = Vec::new();
        for id in people {
            mentions.push(match team::person(self.db, id).await? {
                Some(person) => person.mention(),
                None => crate::telegram::html::mention(id, &id.to_string(), None),
            });
        }
        let mut lines = vec![t!(i18n, lang, "digest-mention", people = Arg::Html(mentions.join(" ")))];
        for incident in incidents {
            lines.push(t!(
                i18n,
                lang,
                "digest-mention-line",
                number = incident.id,
                what = self.what(incident).await?,
                time = self.time(incident.reported_at)
            ));
        }
        Ok(Rendered { html: lines.join("\n"), keyboard: None })
    }

    async fn private_alert(&self, incidents: &[Incident]) -> anyhow::Result<Rendered> {
        let (i18n, lang) = (self.i18n, self.lang);
        let mut lines = vec![t!(i18n, lang, "digest-private-header", count = incidents.len())];
        for incident in incidents {
            lines.push(t!(
                i18n,
                lang,
                "digest-private-line",
                number = incident.id,
                what = self.what(incident).await?,
                text = short(&incident.description, LINE_TEXT_CHARS),
                time = self.time(incident.reported_at)
            ));
        }
        Ok(Rendered { html: lines.join("\n"), keyboard: None })
    }

    async fn notices(&self, items: &[MergeItem], incidents: &[Incident]) -> anyhow::Result<Rendered> {
        let (i18n, lang) = (self.i18n, self.lang);
        let mut lines = Vec::new();
        for incident in incidents {
            let reporter = match team::person(self.db, incident.reporter_id).await? {
                Some(person) => person.mention(),
                None => String::new(),
            };
            let resolved = items.iter().any(|item| {
                item.subject == incident.id && item.detail.as_deref() == Some(EventKind::Resolved.as_str())
            });
            lines.push(if resolved {
                t!(
                    i18n,
                    lang,
                    "digest-notice-resolved",
                    reporter = Arg::Html(reporter),
                    number = incident.id,
                    person = Arg::Html(team::name_html(self.db, incident.resolved_by).await?)
                )
            } else {
                t!(
                    i18n,
                    lang,
                    "digest-notice-acknowledged",
                    reporter = Arg::Html(reporter),
                    number = incident.id,
                    person = Arg::Html(team::name_html(self.db, incident.acknowledged_by).await?)
                )
            });
        }
        Ok(Rendered { html: lines.join("\n"), keyboard: None })
    }
}
