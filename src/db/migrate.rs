//! Embedded diesel migrations, run under an advisory lock so nodes starting together do not race.

use anyhow::Context;
use diesel_async::{AsyncConnection, AsyncMigrationHarness, AsyncPgConnection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

/// Every migration of `migrations/`, compiled in.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Arbitrary constant naming our migration lock.
const MIGRATION_LOCK: i64 = 0x6e65_6e75_6661_7201;

/// Applies pending migrations, then fills what SQL cannot compute (the look-alike keys of teams
/// stored before them: `db::teams::backfill_name_keys`), all under the lock; returns how many
/// migrations ran. Needs the multi-threaded tokio runtime.
pub async fn run_pending(url: &str) -> anyhow::Result<usize> {
    let mut conn = AsyncPgConnection::establish(url)
        .await
        .context("connecting to PostgreSQL to migrate")?;
    diesel::sql_query(format!("select pg_advisory_lock({MIGRATION_LOCK})"))
        .execute(&mut conn)
        .await?;
    let mut harness = AsyncMigrationHarness::new(conn);
    let result = harness.run_pending_migrations(MIGRATIONS).map(|v| v.len());
    let mut conn = harness.into_inner();
    let backfilled = match result {
        Ok(_) => Some(super::teams::backfill_name_keys(&mut conn).await),
        Err(_) => None,
    };
    diesel::sql_query(format!("select pg_advisory_unlock({MIGRATION_LOCK})"))
        .execute(&mut conn)
        .await?;
    if let Some(backfilled) = backfilled {
        backfilled.context("giving stored teams their look-alike keys")?;
    }
    result.map_err(|e| anyhow::anyhow!("running migrations: {e}"))
}

/// Reverts every migration (used by the migration test to prove each `down.sql`).
pub async fn revert_all(url: &str) -> anyhow::Result<usize> {
    let conn = AsyncPgConnection::establish(url)
        .await
        .context("connecting to PostgreSQL to revert")?;
    let mut harness = AsyncMigrationHarness::new(conn);
    harness
        .revert_all_migrations(MIGRATIONS)
        .map(|v| v.len())
        .map_err(|e| anyhow::anyhow!("reverting migrations: {e}"))
}
