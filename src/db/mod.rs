//! Storage: the SQLite pool (WAL journal, foreign keys on, a busy timeout), the embedded
//! migrations, how a transaction begins, and one repository per part of the floor. Each
//! repository takes and returns domain types.

pub mod calls;
pub mod chats;
pub mod contacts;
pub mod escalation;
pub mod forms;
pub mod incidents;
pub mod jobs;
pub mod live;
pub mod patrols;
pub mod people;
pub mod stores;

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};

/// The migrations in `migrations/`, compiled into the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Opens (creating if needed) the database at `url`. Does not migrate.
pub async fn connect(url: &str) -> Result<SqlitePool, sqlx::Error> {
    let options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // NORMAL is durable in WAL mode against process crashes, which is what `kill -9` is.
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10));
    SqlitePoolOptions::new().max_connections(8).acquire_timeout(Duration::from_secs(30)).connect_with(options).await
}

/// Opens the database and applies every pending migration.
pub async fn connect_and_migrate(url: &str) -> anyhow::Result<SqlitePool> {
    let pool = connect(url).await?;
    MIGRATOR.run(&pool).await?;
    Ok(pool)
}

/// Begins a transaction that takes the write lock at once.
///
/// A plain `BEGIN` reads first and upgrades to a writer later; when another connection
/// committed in between, SQLite answers `SQLITE_BUSY_SNAPSHOT`, which the busy timeout does
/// not wait out. `BEGIN IMMEDIATE` waits (up to the busy timeout) for the lock instead, so
/// every transaction that reads and then writes starts this way.
pub async fn begin(db: &SqlitePool) -> sqlx::Result<Transaction<'static, Sqlite>> {
    db.begin_with("BEGIN IMMEDIATE").await
}

/// True for the errors a busy database gives (`SQLITE_BUSY`, `SQLITE_LOCKED` and their
/// extended codes): worth trying again, never worth showing to anyone.
pub fn is_busy(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(error) => {
            let code = error.code();
            let primary = code.as_deref().and_then(|code| code.parse::<i32>().ok()).map(|code| code & 0xff);
            matches!(primary, Some(5 | 6))
        }
        sqlx::Error::PoolTimedOut => true,
        _ => false,
    }
}
