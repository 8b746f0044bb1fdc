//! Failed logins per account, counted in PostgreSQL so the limit holds across nodes: an attempt is
//! reserved (counted) before its password is hashed, given back when it could not be judged,
//! and the count is deleted by a successful login.

use std::time::Duration;

use diesel::prelude::*;
use diesel::sql_types::{Bytea, Double, Int4};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

#[derive(QueryableByName)]
struct Attempts {
    #[diesel(sql_type = Int4)]
    #[expect(dead_code, reason = "only whether a row came back matters")]
    attempts: i32,
}

#[derive(QueryableByName)]
struct Wait {
    #[diesel(sql_type = Double)]
    seconds: f64,
}

/// Counts one attempt for `email_hash` unless it already has `max` in the current window (a
/// window of `window` starts at its first attempt). `Ok(None)`: counted; `Ok(Some(wait))`:
/// refused, the window ends in `wait`.
pub async fn reserve(
    conn: &mut AsyncPgConnection,
    email_hash: &[u8],
    max: u32,
    window: Duration,
) -> QueryResult<Option<Duration>> {
    let window_s = window.as_secs_f64();
    let counted: Option<Attempts> = diesel::sql_query(
        "insert into login_attempts as a (email_hash, attempts, window_started_at) \
         values ($1, 1, now()) \
         on conflict (email_hash) do update set \
           attempts = case when a.window_started_at <= now() - make_interval(secs => $2) \
                           then 1 else a.attempts + 1 end, \
           window_started_at = case when a.window_started_at <= now() - make_interval(secs => $2) \
                           then now() else a.window_started_at end \
         where a.window_started_at <= now() - make_interval(secs => $2) or a.attempts < $3 \
         returning attempts",
    )
    .bind::<Bytea, _>(email_hash)
    .bind::<Double, _>(window_s)
    .bind::<Int4, _>(i32::try_from(max).unwrap_or(i32::MAX))
    .get_result(conn)
    .await
    .optional()?;
    if counted.is_some() {
        return Ok(None);
    }
    let wait: Option<Wait> = diesel::sql_query(
        "select greatest(extract(epoch from window_started_at + make_interval(secs => $2) - now()), 0)::float8 \
         as seconds from login_attempts where email_hash = $1",
    )
    .bind::<Bytea, _>(email_hash)
    .bind::<Double, _>(window_s)
    .get_result(conn)
    .await
    .optional()?;
    let seconds = wait.map_or(1.0, |w| w.seconds).max(0.0);
    Ok(Some(Duration::from_secs_f64(seconds)))
}

/// Gives back a reserved attempt that was never judged (the hashing queue was full).
pub async fn give_back(conn: &mut AsyncPgConnection, email_hash: &[u8]) -> QueryResult<()> {
    diesel::sql_query(
        "update login_attempts set attempts = greatest(attempts - 1, 0) where email_hash = $1",
    )
    .bind::<Bytea, _>(email_hash)
    .execute(conn)
    .await
    .map(|_| ())
}

/// A successful login: the account's count starts again.
pub async fn reset(conn: &mut AsyncPgConnection, email_hash: &[u8]) -> QueryResult<()> {
    diesel::sql_query("delete from login_attempts where email_hash = $1")
        .bind::<Bytea, _>(email_hash)
        .execute(conn)
        .await
        .map(|_| ())
}

/// Deletes counts whose window has passed (they count as no attempt at all).
pub async fn purge_expired(conn: &mut AsyncPgConnection, window: Duration) -> QueryResult<usize> {
    diesel::sql_query(
        "delete from login_attempts where window_started_at <= now() - make_interval(secs => $1)",
    )
    .bind::<Double, _>(window.as_secs_f64())
    .execute(conn)
    .await
}
