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
pub mod views;

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};

/// The database handle the edges hold: they pass it to repositories and never query it.
pub type Pool = SqlitePool;

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

/// Checks that `url` is a SQLite URL this build can open (without opening it).
pub fn check_url(url: &str) -> Result<(), sqlx::Error> {
    SqliteConnectOptions::from_str(url).map(drop)
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

#[cfg(test)]
mod tests {
    use super::*;

    async fn scratch_database() -> (tempfile::TempDir, SqlitePool) {
        let directory = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", directory.path().join("scratch.db").display());
        let pool = connect(&url).await.expect("database");
        (directory, pool)
    }

    /// A database written before the CHECK constraints keeps every row, its links intact.
    #[tokio::test]
    async fn the_known_values_migration_keeps_existing_rows() {
        let (_directory, db) = scratch_database().await;
        MIGRATOR.run_to(4, &db).await.expect("migrations up to 4");
        sqlx::raw_sql(
            "INSERT INTO teams (id, name, created_at) VALUES (1, '天猫一组', '2026-11-01T00:00:00Z');
             INSERT INTO incidents (id, kind, severity, team_id, anomaly_kind, description, reporter_id, reported_at)
                 VALUES (7, 'store_anomaly', 'red', 1, 'coupon', '券错了', 11, '2026-11-01T01:00:00Z');
             INSERT INTO incident_events (incident_id, at, kind) VALUES (7, '2026-11-01T01:00:00Z', 'reported');
             INSERT INTO jobs (kind, incident_id, due_at, state, created_at, updated_at, attempted_at)
                 VALUES ('call', 7, '2026-11-01T01:05:00Z', 'ringing', '2026-11-01T01:00:00Z', '2026-11-01T01:00:00Z', '2026-11-01T01:05:00Z');
             INSERT INTO escalation_done (incident_id, person_id, action) VALUES (7, 11, 'call');",
        )
        .execute(&db)
        .await
        .expect("rows in the old shape");
        MIGRATOR.run(&db).await.expect("the remaining migrations");

        let counts: (i64, i64, i64, i64) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM incidents), (SELECT COUNT(*) FROM incident_events),
                    (SELECT COUNT(*) FROM jobs WHERE state = 'ringing' AND attempted_at IS NOT NULL),
                    (SELECT COUNT(*) FROM escalation_done)",
        )
        .fetch_one(&db)
        .await
        .expect("counts");
        assert_eq!(counts, (1, 1, 1, 1));
        let violations: Vec<(String, i64, String, i64)> =
            sqlx::query_as("PRAGMA foreign_key_check").fetch_all(&db).await.expect("check");
        assert!(violations.is_empty(), "{violations:?}");
        let enforced: i64 = sqlx::query_scalar("PRAGMA foreign_keys").fetch_one(&db).await.expect("pragma");
        assert_eq!(enforced, 1, "foreign keys are on again");
    }

    /// A value the code does not know is refused when written, and an error when read.
    #[tokio::test]
    async fn unknown_kinds_and_states_are_refused() {
        let (_directory, db) = scratch_database().await;
        MIGRATOR.run(&db).await.expect("migrations");
        for statement in [
            "INSERT INTO jobs (kind, due_at, created_at, updated_at) VALUES ('sleep', 'x', 'x', 'x')",
            "INSERT INTO jobs (kind, due_at, state, created_at, updated_at) VALUES ('step', 'x', 'paused', 'x', 'x')",
            "INSERT INTO escalation_done (incident_id, person_id, action) VALUES (1, 1, 'email')",
        ] {
            let error = sqlx::query(statement).execute(&db).await.expect_err(statement);
            assert!(error.to_string().contains("CHECK constraint failed"), "{statement}: {error}");
        }
        let decoded =
            sqlx::query_scalar::<_, crate::domain::incident::Severity>("SELECT 'purple'").fetch_one(&db).await;
        assert!(decoded.is_err(), "an unknown severity is an error, not a default");
    }
}
