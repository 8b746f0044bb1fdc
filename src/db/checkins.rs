//! Check-ins and finds: the reads a check-in may need besides its gate (`gates`): a stored key, a
//! team's finds. The check-in writer's batched statements are in `checkin_writes`.

use std::collections::{HashMap, HashSet};

use diesel::prelude::*;
use diesel::sql_types::{Array, Bytea, Jsonb, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::prepared::prepared;
use super::schema::{checkins, finds};
use crate::domain::ids::{PlayerId, TargetId, TeamId};

/// The stored request hash and response of a key.
pub async fn stored(
    conn: &mut AsyncPgConnection,
    player: PlayerId,
    idempotency_key: uuid::Uuid,
) -> QueryResult<Option<(Vec<u8>, serde_json::Value)>> {
    checkins::table
        .filter(checkins::player_id.eq(player.0))
        .filter(checkins::idempotency_key.eq(idempotency_key))
        .select((checkins::request_hash, checkins::response))
        .first(conn)
        .await
        .optional()
}

#[derive(QueryableByName)]
struct StoredRow {
    #[diesel(sql_type = SqlUuid)]
    player_id: uuid::Uuid,
    #[diesel(sql_type = SqlUuid)]
    idempotency_key: uuid::Uuid,
    #[diesel(sql_type = Bytea)]
    request_hash: Vec<u8>,
    #[diesel(sql_type = Jsonb)]
    response: serde_json::Value,
}

/// Stored request hashes and responses of several (player, key) pairs, in one round trip (one index
/// lookup per pair: see `checkin_writes::found_before`).
pub async fn stored_many(
    conn: &mut AsyncPgConnection,
    keys: &[(PlayerId, uuid::Uuid)],
) -> QueryResult<HashMap<(PlayerId, uuid::Uuid), (Vec<u8>, serde_json::Value)>> {
    let players: Vec<uuid::Uuid> = keys.iter().map(|(p, _)| p.0).collect();
    let ids: Vec<uuid::Uuid> = keys.iter().map(|(_, k)| *k).collect();
    let rows: Vec<StoredRow> = prepared(
        diesel::sql_query(
            "select c.player_id, c.idempotency_key, c.request_hash, c.response \
             from unnest($1::uuid[], $2::uuid[]) as k(player_id, idempotency_key) \
             cross join lateral (select c.player_id, c.idempotency_key, c.request_hash, c.response \
                                 from checkins c \
                                 where c.player_id = k.player_id and c.idempotency_key = k.idempotency_key \
                                 offset 0) c",
        )
        .bind::<Array<SqlUuid>, _>(players)
        .bind::<Array<SqlUuid>, _>(ids),
    )
    .load(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                (PlayerId(r.player_id), r.idempotency_key),
                (r.request_hash, r.response),
            )
        })
        .collect())
}

/// The targets a team has found.
pub async fn team_finds(
    conn: &mut AsyncPgConnection,
    team: TeamId,
) -> QueryResult<HashSet<TargetId>> {
    let ids: Vec<uuid::Uuid> = finds::table
        .filter(finds::team_id.eq(team.0))
        .select(finds::target_id)
        .load(conn)
        .await?;
    Ok(ids.into_iter().map(TargetId).collect())
}
