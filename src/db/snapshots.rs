//! Leaderboard snapshots (`leaderboard_snapshots`): the latest per hunt, written by any node.

use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Integer, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::domain::ids::HuntId;

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = BigInt)]
    through_offset: i64,
    #[diesel(sql_type = Text)]
    state: String,
}

/// The hunt's snapshot in `format`, if any: the offset it includes and its JSON text.
pub async fn load(
    conn: &mut AsyncPgConnection,
    hunt: HuntId,
    format: i32,
) -> diesel::QueryResult<Option<(i64, String)>> {
    let rows: Vec<Row> = super::prepared::prepared(
        diesel::sql_query(
            "select through_offset, state::text as state from leaderboard_snapshots \
             where hunt_id = $1 and format = $2",
        )
        .bind::<SqlUuid, _>(hunt.0)
        .bind::<Integer, _>(format),
    )
    .load(conn)
    .await?;
    Ok(rows.into_iter().next().map(|r| (r.through_offset, r.state)))
}

/// Stores a snapshot through `through` unless one at least as recent is stored (by any node):
/// every node folds the same log into the same state, so the newest wins. Returns whether it
/// was written.
pub async fn store(
    conn: &mut AsyncPgConnection,
    hunt: HuntId,
    through: i64,
    format: i32,
    state: &str,
) -> diesel::QueryResult<bool> {
    let n = super::prepared::prepared(
        diesel::sql_query(
            "insert into leaderboard_snapshots (hunt_id, through_offset, format, state) \
             values ($1, $2, $3, $4::jsonb) \
             on conflict (hunt_id) do update set through_offset = excluded.through_offset, \
                 format = excluded.format, state = excluded.state, updated_at = now() \
             where leaderboard_snapshots.through_offset < excluded.through_offset",
        )
        .bind::<SqlUuid, _>(hunt.0)
        .bind::<BigInt, _>(through)
        .bind::<Integer, _>(format)
        .bind::<Text, _>(state),
    )
    .execute(conn)
    .await?;
    Ok(n > 0)
}
