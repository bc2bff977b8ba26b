//! Wiring: builds the database, the bot and the shared state from a [`Config`], then runs the
//! dispatcher until told to stop. `floorbot run` and the end-to-end tests use the same path;
//! only the [`Edges`] differ (API URL via the config, the clock, how long to long-poll).

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use anyhow::Context as _;
use sqlx::SqlitePool;
use teloxide::dispatching::Dispatcher;
use teloxide::error_handlers::LoggingErrorHandler;
use teloxide::prelude::*;
use tokio_util::sync::CancellationToken;

use crate::clock::{Clock, SystemClock};
use crate::config::{Config, PhoneConfig};
use crate::db::people;
use crate::domain::retry::{self, Backoff};
use crate::i18n::I18n;
use crate::jobs::ports::Phone;
use crate::jobs::{self, Deps, RunnerHandle};
use crate::phone::twilio::{Twilio, TwilioSettings};
use crate::phone::webhook::Webhook;
use crate::telegram::digest::Digests;
use crate::telegram::lane::Lane;
use crate::telegram::lane::api::{ApiError, BotApi};
use crate::telegram::{self, Floor, menu, polling};

/// What differs between production and tests.
#[derive(Clone)]
pub struct Edges {
    pub clock: Arc<dyn Clock>,
    /// How long one getUpdates call may wait for news.
    pub poll_timeout: Duration,
    /// How a Telegram request that failed is tried again (sends, edits, polling, getMe).
    pub retry: Backoff,
    /// How long, after a stop was asked for, messages still queued may wait for their turn.
    pub shutdown_grace: Duration,
    /// Counts the job runner's wake-ups (a sleeping runner barely counts).
    pub runner_wakeups: Arc<AtomicU64>,
}

impl Default for Edges {
    fn default() -> Self {
        Self {
            runner_wakeups: Arc::new(AtomicU64::new(0)),
            clock: Arc::new(SystemClock),
            poll_timeout: Duration::from_secs(10),
            retry: retry::TELEGRAM,
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

/// A ready-to-run floorbot.
pub struct App {
    config: Arc<Config>,
    db: SqlitePool,
    bot: Bot,
    api: BotApi,
    lane: Lane,
    i18n: Arc<I18n>,
    edges: Edges,
}

impl App {
    /// Opens and migrates the database and prepares the bot. Talks to nobody yet.
    pub async fn build(config: Config, edges: Edges) -> anyhow::Result<App> {
        let token = config.require_token()?.clone();
        let db = crate::db::connect_and_migrate(&config.database_url).await.context("opening the database")?;
        let i18n = Arc::new(I18n::load()?);
        let bot = Bot::new(token.expose()).set_api_url(config.telegram.api_url.clone());
        // A long poll must end before its request times out.
        let request_timeout = Duration::from_secs(30).max(edges.poll_timeout + Duration::from_secs(10));
        let api = BotApi::new(config.telegram.api_url.clone(), token, request_timeout)?;
        let lane = Lane::new(api.clone(), db.clone(), Arc::clone(&edges.clock), config.telegram.limits, edges.retry);
        Ok(App { config: Arc::new(config), db, bot, api, lane, i18n, edges })
    }

    pub fn db(&self) -> &SqlitePool {
        &self.db
    }

    /// The outbound lane everything is sent through (it runs once [`App::run`] does).
    pub fn lane(&self) -> Lane {
        self.lane.clone()
    }

    /// Runs until `shutdown` is cancelled; then stops taking updates and returns once the
    /// handlers in flight are done.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let App { config, db, bot, api, lane, i18n, edges } = self;

        if let Some(code) = people::prepare_claim_code(&db, &config.supervisors, edges.clock.now()).await? {
            tracing::warn!(
                "no supervisor yet: send this to the bot in a private chat to become supervisor: /claim {code}"
            );
        }

        let phone = build_phone(&config)?;
        let deps = Arc::new(Deps {
            db,
            config,
            i18n,
            clock: Arc::clone(&edges.clock),
            messenger: Arc::new(lane.clone()),
            phone,
            runner: RunnerHandle::counting(Arc::clone(&edges.runner_wakeups)),
        });
        lane.set_digest(Arc::new(Digests::new(&deps)));
        let floor = Arc::new(Floor {
            deps: Arc::clone(&deps),
            lane: lane.clone(),
            bot_username: std::sync::OnceLock::new(),
            bot_id: std::sync::OnceLock::new(),
        });
        // The lane outlives the handlers and jobs that feed it: it stops last.
        let lane_stop = CancellationToken::new();
        let lane_task = tokio::spawn({
            let lane = lane.clone();
            let stop = lane_stop.clone();
            async move { lane.run(stop).await }
        });
        // Handlers finishing after a stop request still get their answers out; one stuck
        // behind a rate limit or an outage is released after a grace period.
        tokio::spawn({
            let shutdown = shutdown.clone();
            let lane_stop = lane_stop.clone();
            let grace = edges.shutdown_grace;
            async move {
                shutdown.cancelled().await;
                tokio::time::sleep(grace).await;
                lane_stop.cancel();
            }
        });
        // Deadlines run even while Telegram is unreachable: calls do not need it.
        let scheduler = tokio::spawn(jobs::run(deps, shutdown.clone()));

        // Telegram may be unreachable at start; keep trying rather than dying.
        let Some(me) = identify(&api, edges.clock.as_ref(), edges.retry, &shutdown).await else {
            let _ = scheduler.await;
            lane_stop.cancel();
            let _ = lane_task.await;
            return Ok(());
        };
        tracing::info!(bot = %me.username, "connected to Telegram");
        let _ = floor.bot_username.set(me.username);
        let _ = floor.bot_id.set(me.id);
        {
            let floor = Arc::clone(&floor);
            tokio::spawn(async move { menu::register_defaults(&floor).await });
        }

        let mut dispatcher = Dispatcher::builder(bot.clone(), telegram::schema())
            .dependencies(dptree::deps![Arc::clone(&floor)])
            .default_handler(|_| async {})
            .error_handler(LoggingErrorHandler::with_custom_text("an update could not be handled"))
            .build();
        let stop = dispatcher.shutdown_token();
        let stopper = tokio::spawn({
            let shutdown = shutdown.clone();
            async move {
                shutdown.cancelled().await;
                // The dispatcher may not be running yet (or any more); ask until it answers.
                for _ in 0..100 {
                    match stop.shutdown() {
                        Ok(done) => {
                            done.await;
                            return;
                        }
                        Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                    }
                }
            }
        });

        loop {
            let listener = polling::listener(api.clone(), Arc::clone(&edges.clock), edges.poll_timeout, edges.retry);
            let result = dispatcher
                .try_dispatch_with_listener(listener, LoggingErrorHandler::with_custom_text("getting updates failed"))
                .await;
            match result {
                Ok(()) => break,
                Err(error) => {
                    tracing::warn!(%error, "could not start taking updates; retrying");
                    let until = edges.clock.now() + chrono::Duration::seconds(1);
                    tokio::select! {
                        _ = shutdown.cancelled() => break,
                        _ = edges.clock.sleep_until(until) => {}
                    }
                }
            }
        }
        stopper.abort();
        shutdown.cancel();
        let _ = scheduler.await;
        lane_stop.cancel();
        let _ = lane_task.await;
        floor.db.close().await;
        tracing::info!("stopped");
        Ok(())
    }
}

/// The bot's own identity, as `getMe` tells it.
struct Me {
    username: String,
    id: i64,
}

/// Asks Telegram who the bot is until it answers (None if stopped first), then makes sure no
/// webhook is set, since floorbot polls.
async fn identify(api: &BotApi, clock: &dyn Clock, retry: Backoff, shutdown: &CancellationToken) -> Option<Me> {
    let mut failures = 0;
    let me = loop {
        let wait = match api.call("getMe", &serde_json::json!({})).await {
            Ok(me) => break me,
            Err(ApiError::RetryAfter(wait)) => wait,
            Err(error) => {
                failures += 1;
                let wait = retry.after(failures).unwrap_or(retry.max);
                tracing::warn!(error = error.description(), retry_in = ?wait, "cannot reach Telegram yet");
                wait
            }
        };
        let until = clock.now() + chrono::Duration::from_std(wait).unwrap_or_default();
        tokio::select! {
            _ = shutdown.cancelled() => return None,
            _ = clock.sleep_until(until) => {}
        }
    };
    if let Err(error) = api.call("deleteWebhook", &serde_json::json!({ "drop_pending_updates": false })).await {
        tracing::warn!(error = error.description(), "could not make sure no webhook is set");
    }
    Some(Me {
        username: me["username"].as_str().unwrap_or_default().to_owned(),
        id: me["id"].as_i64().unwrap_or_default(),
    })
}

/// The configured phone provider, if any.
pub fn build_phone(config: &Config) -> anyhow::Result<Option<Arc<dyn Phone>>> {
    Ok(match &config.phone {
        PhoneConfig::None => None,
        PhoneConfig::Twilio { account_sid, auth_token, from_number, api_url, voice, ring_timeout } => {
            let mut settings =
                TwilioSettings::new(account_sid.clone(), auth_token.clone(), from_number.clone(), api_url.clone());
            settings.voice_zh = voice.zh.clone();
            settings.voice_en = voice.en.clone();
            settings.ring_timeout_secs = u32::try_from(ring_timeout.as_secs()).unwrap_or(30);
            Some(Arc::new(Twilio::new(settings)?))
        }
        PhoneConfig::Webhook { url } => Some(Arc::new(Webhook::new(url.clone(), Duration::from_secs(10))?)),
    })
}
