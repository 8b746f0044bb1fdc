//! The connection pool and the start-up check of PostgreSQL and PostGIS versions.

use std::time::Duration;

use anyhow::Context;
use diesel::QueryableByName;
use diesel::sql_types::{Int4, Nullable, Text};
use diesel_async::pooled_connection::AsyncDieselConnectionManager;
use diesel_async::pooled_connection::deadpool;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

/// The pool every service uses.
pub type Pool = deadpool::Pool<AsyncPgConnection>;

/// Oldest PostgreSQL we run on (`server_version_num`).
const MIN_SERVER_VERSION: i32 = 130_000;

/// How long `connect`'s pool lets a caller wait for a free connection (`NENUFAR_DB_POOL_WAIT_MS`'s default).
pub const DEFAULT_WAIT: Duration = Duration::from_secs(5);

/// Builds a pool of at most `max_size` connections (connections open lazily), waiting at most
/// `DEFAULT_WAIT` for a free one.
pub fn connect(url: &str, max_size: usize) -> anyhow::Result<Pool> {
    connect_with_wait(url, max_size, DEFAULT_WAIT)
}

/// Builds a pool of at most `max_size` connections; a caller waiting longer than `wait` for one
/// gets a timeout (the API answers 503 `unavailable`), so an exhausted pool sheds load instead of
/// queueing requests until their own timeout.
pub fn connect_with_wait(url: &str, max_size: usize, wait: Duration) -> anyhow::Result<Pool> {
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new(url);
    deadpool::Pool::builder(manager)
        .max_size(max_size)
        .wait_timeout(Some(wait))
        .runtime(::deadpool::Runtime::Tokio1)
        .build()
        .context("building the database pool")
}

#[derive(QueryableByName)]
struct Versions {
    #[diesel(sql_type = Int4)]
    server: i32,
    #[diesel(sql_type = Text)]
    server_text: String,
    #[diesel(sql_type = Nullable<Text>)]
    postgis_available: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    postgis_installed: Option<String>,
}

/// Checks that the server is recent enough and that PostGIS is installed or installable, and says
/// what is missing. Returns a one-line description for the start-up log.
pub async fn check_versions(pool: &Pool) -> anyhow::Result<String> {
    let mut conn = pool
        .get()
        .await
        .context("connecting to PostgreSQL (check NENUFAR_DATABASE_URL)")?;
    let v: Versions = diesel::sql_query(
        "select current_setting('server_version_num')::int as server, \
                current_setting('server_version') as server_text, \
                (select default_version from pg_available_extensions where name = 'postgis') as postgis_available, \
                (select extversion from pg_extension where extname = 'postgis') as postgis_installed",
    )
    .get_result(&mut conn)
    .await
    .context("reading server versions")?;
    if v.server < MIN_SERVER_VERSION {
        anyhow::bail!(
            "PostgreSQL {} is too old: nenufar needs 13 or later",
            v.server_text
        );
    }
    let postgis = match (v.postgis_installed, v.postgis_available) {
        (Some(installed), _) => installed,
        (None, Some(available)) => format!("{available} (available, not yet created)"),
        (None, None) => anyhow::bail!(
            "PostGIS is not available on this PostgreSQL {}: install it (Debian: apt-get install postgresql-{}-postgis-3)",
            v.server_text,
            v.server / 10_000
        ),
    };
    Ok(format!("PostgreSQL {}, PostGIS {postgis}", v.server_text))
}
