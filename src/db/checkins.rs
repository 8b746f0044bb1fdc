//! Check-ins and finds: the reads a check-in may need (hunt gate, membership, a stored key, a
//! team's finds). The check-in writer's batched statements are in `checkin_writes`.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{
    Array, Bytea, Double, Int4, Int8, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::cached::cached;
use super::schema::{checkins, finds};
use crate::domain::geofence::AccuracyPolicy;
use crate::domain::hunt::{HuntStatus, Rules, Schedule};
use crate::domain::ids::{HuntId, PlayerId, TargetId, TeamId};

/// A hunt as check-ins are judged against it, at one revision of its row.
#[derive(Debug, Clone, PartialEq)]
pub struct HuntGate {
    pub revision: i64,
    pub status: HuntStatus,
    pub schedule: Schedule,
    pub rules: Rules,
    pub targets_version: i64,
}

#[derive(QueryableByName)]
struct GateRow {
    #[diesel(sql_type = Int8)]
    revision: i64,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = Timestamptz)]
    teaser_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    live_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    ends_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    archive_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Text)]
    accuracy_policy: String,
    #[diesel(sql_type = Double)]
    max_accuracy_m: f64,
    #[diesel(sql_type = Int4)]
    team_max_size: i32,
    #[diesel(sql_type = Int8)]
    targets_version: i64,
    #[diesel(sql_type = Double)]
    checkin_interval_s: f64,
    #[diesel(sql_type = Int4)]
    checkin_burst: i32,
}

/// A hunt's gate at its current revision; `None` when it does not exist or is a draft.
pub async fn gate(conn: &mut AsyncPgConnection, hunt: HuntId) -> QueryResult<Option<HuntGate>> {
    let row: Option<GateRow> = cached(
        diesel::sql_query(
            "select revision, status, teaser_at, live_at, ends_at, archive_at, accuracy_policy, \
                    max_accuracy_m, team_max_size, targets_version, checkin_interval_s, checkin_burst \
             from hunts where id = $1 and status <> 'draft'",
        )
        .bind::<SqlUuid, _>(hunt.0),
    )
    .get_result(conn)
    .await
    .optional()?;
    Ok(row.map(|r| HuntGate {
        revision: r.revision,
        status: HuntStatus::parse(&r.status).unwrap_or(HuntStatus::Draft),
        schedule: Schedule {
            teaser_at: r.teaser_at,
            live_at: r.live_at,
            ends_at: r.ends_at,
            archive_at: r.archive_at,
        },
        rules: Rules {
            accuracy_policy: AccuracyPolicy::parse(&r.accuracy_policy).unwrap_or_default(),
            max_accuracy_m: r.max_accuracy_m,
            team_max_size: r.team_max_size,
            checkin_interval_s: r.checkin_interval_s,
            checkin_burst: r.checkin_burst,
        },
        targets_version: r.targets_version,
    }))
}

/// A player's team in a hunt, with the names events show.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub team: TeamId,
    pub team_name: String,
    pub handle: String,
}

#[derive(QueryableByName)]
struct MemberRow {
    #[diesel(sql_type = SqlUuid)]
    team_id: uuid::Uuid,
    #[diesel(sql_type = Text)]
    team_name: String,
    #[diesel(sql_type = Text)]
    handle: String,
}

/// The player's team in the hunt with its name and the player's handle; `None` without a team.
pub async fn member(
    conn: &mut AsyncPgConnection,
    hunt: HuntId,
    player: PlayerId,
) -> QueryResult<Option<Member>> {
    let row: Option<MemberRow> = cached(
        diesel::sql_query(
            "select m.team_id, t.name as team_name, p.handle from team_members m \
             join teams t on t.id = m.team_id join players p on p.id = m.player_id \
             where m.hunt_id = $1 and m.player_id = $2",
        )
        .bind::<SqlUuid, _>(hunt.0)
        .bind::<SqlUuid, _>(player.0),
    )
    .get_result(conn)
    .await
    .optional()?;
    Ok(row.map(|r| Member {
        team: TeamId(r.team_id),
        team_name: r.team_name,
        handle: r.handle,
    }))
}

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

/// Stored request hashes and responses of several (player, key) pairs, in one round trip.
pub async fn stored_many(
    conn: &mut AsyncPgConnection,
    keys: &[(PlayerId, uuid::Uuid)],
) -> QueryResult<HashMap<(PlayerId, uuid::Uuid), (Vec<u8>, serde_json::Value)>> {
    let players: Vec<uuid::Uuid> = keys.iter().map(|(p, _)| p.0).collect();
    let ids: Vec<uuid::Uuid> = keys.iter().map(|(_, k)| *k).collect();
    let rows: Vec<StoredRow> = cached(
        diesel::sql_query(
            "select c.player_id, c.idempotency_key, c.request_hash, c.response \
             from unnest($1::uuid[], $2::uuid[]) as k(player_id, idempotency_key) \
             join checkins c on c.player_id = k.player_id and c.idempotency_key = k.idempotency_key",
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
