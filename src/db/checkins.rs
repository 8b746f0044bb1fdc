//! Check-ins and finds: the reads a check-in may need (hunt gate, membership, a stored key) and the
//! batched writes of the check-in writer (hunt locks, team scores, finds, check-in rows).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{
    Array, Bytea, Double, Int4, Int8, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use postgis_diesel::sql_types::Geography;

use super::cached::cached;
use super::geo;
use super::schema::{checkins, finds};
use crate::domain::checkin::{Fix, Verdict};
use crate::domain::geofence::AccuracyPolicy;
use crate::domain::hunt::{HuntStatus, Rules, Schedule};
use crate::domain::ids::{CheckinId, HuntId, PlayerId, TargetId, TeamId};

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

/// A hunt row as the writer locked it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LockedHunt {
    pub revision: i64,
    /// Whether its leaderboard is frozen (score changes then go to the team only).
    pub frozen: bool,
}

#[derive(QueryableByName)]
struct LockedHuntRow {
    #[diesel(sql_type = SqlUuid)]
    id: uuid::Uuid,
    #[diesel(sql_type = Int8)]
    revision: i64,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    frozen: bool,
}

/// The writer's statements take a shared connection reference, so it can poll several at once:
/// diesel-async then sends them back to back on the connection (a pipeline), in the order they
/// were created, and PostgreSQL runs them in that order.
///
/// Share-locks the hunts (in id order, so concurrent writers never deadlock) until the
/// transaction ends, and returns their revisions: no change to a hunt commits between the
/// revision check and the check-ins' commit, and a freeze waits for the finds under way.
pub async fn lock_hunts(
    mut conn: &AsyncPgConnection,
    hunts: &[HuntId],
) -> QueryResult<HashMap<HuntId, LockedHunt>> {
    let ids: Vec<uuid::Uuid> = hunts.iter().map(|h| h.0).collect();
    let rows: Vec<LockedHuntRow> = cached(
        diesel::sql_query(
            "select id, revision, frozen_at_offset is not null as frozen from hunts \
             where id = any($1) order by id for share",
        )
        .bind::<Array<SqlUuid>, _>(ids),
    )
    .load(&mut conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                HuntId(r.id),
                LockedHunt {
                    revision: r.revision,
                    frozen: r.frozen,
                },
            )
        })
        .collect())
}

#[derive(QueryableByName)]
struct TeamScoreRow {
    #[diesel(sql_type = SqlUuid)]
    id: uuid::Uuid,
    #[diesel(sql_type = Int8)]
    score: i64,
}

/// Current scores of `finding` teams, locked in id order (their scores change in this
/// transaction), and of `others`, read without a lock. The lock is `for no key update`, what the
/// score update itself takes: a stronger `for update` would also block the foreign-key checks
/// (`for key share`) of other writers' check-in rows of those teams, and two writers would
/// deadlock.
pub async fn team_scores(
    mut conn: &AsyncPgConnection,
    finding: &[TeamId],
    others: &[TeamId],
) -> QueryResult<HashMap<TeamId, i64>> {
    let finding: Vec<uuid::Uuid> = finding.iter().map(|t| t.0).collect();
    let others: Vec<uuid::Uuid> = others.iter().map(|t| t.0).collect();
    let rows: Vec<TeamScoreRow> = cached(
        diesel::sql_query(
            "with locked as (select id, score from teams where id = any($1) order by id for no key update) \
             select id, score from locked \
             union all select id, score from teams where id = any($2)",
        )
        .bind::<Array<SqlUuid>, _>(finding)
        .bind::<Array<SqlUuid>, _>(others),
    )
    .load(&mut conn)
    .await?;
    Ok(rows.into_iter().map(|r| (TeamId(r.id), r.score)).collect())
}

/// A target a check-in matched, to be recorded as a find unless the team has it already.
#[derive(Debug, Clone, Copy)]
pub struct FindCandidate {
    pub checkin: CheckinId,
    pub hunt: HuntId,
    pub team: TeamId,
    pub player: PlayerId,
    pub idempotency_key: uuid::Uuid,
    pub target: TargetId,
    pub points: i32,
    pub found_at: DateTime<Utc>,
}

#[derive(QueryableByName)]
struct NewFindRow {
    #[diesel(sql_type = SqlUuid)]
    checkin_id: uuid::Uuid,
    #[diesel(sql_type = SqlUuid)]
    target_id: uuid::Uuid,
    #[diesel(sql_type = Int8)]
    player_score: i64,
}

/// A find that was new.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NewFind {
    pub checkin: CheckinId,
    pub target: TargetId,
    /// The finder's score in the hunt after all of this batch's finds.
    pub player_score_after_batch: i64,
}

/// Records the candidates as finds, each at most once per team and target (the first candidate
/// wins), skipping check-ins whose idempotency key is already stored (a replay finds nothing), and
/// adds the new points to team and player scores, in one statement. The caller holds the teams'
/// row locks (`team_scores`).
pub async fn record_finds(
    mut conn: &AsyncPgConnection,
    candidates: &[FindCandidate],
) -> QueryResult<Vec<NewFind>> {
    if candidates.is_empty() {
        return Ok(Vec::new());
    }
    let col = |f: fn(&FindCandidate) -> uuid::Uuid| -> Vec<uuid::Uuid> {
        candidates.iter().map(f).collect()
    };
    let rows: Vec<NewFindRow> = cached(
        diesel::sql_query(
            "with m as ( \
                 select * from unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::uuid[], $6::uuid[], \
                                      $7::int[], $8::timestamptz[]) with ordinality \
                     as m(checkin_id, hunt_id, team_id, player_id, idempotency_key, target_id, points, found_at, n)), \
             new as ( \
                 insert into finds (team_id, target_id, hunt_id, player_id, checkin_id, points, found_at) \
                 select m.team_id, m.target_id, m.hunt_id, m.player_id, m.checkin_id, m.points, m.found_at from m \
                 where not exists (select 1 from checkins c \
                                   where c.player_id = m.player_id and c.idempotency_key = m.idempotency_key) \
                 order by m.n \
                 on conflict (team_id, target_id) do nothing \
                 returning checkin_id, target_id, team_id, hunt_id, player_id, points), \
             up as ( \
                 update teams t set score = t.score + d.delta \
                 from (select team_id, sum(points) as delta from new group by team_id) d where t.id = d.team_id), \
             ps as ( \
                 insert into player_scores (hunt_id, player_id, score) \
                 select hunt_id, player_id, sum(points) from new group by hunt_id, player_id \
                 on conflict (hunt_id, player_id) do update set score = player_scores.score + excluded.score \
                 returning hunt_id, player_id, score) \
             select new.checkin_id, new.target_id, ps.score as player_score \
             from new join ps on ps.hunt_id = new.hunt_id and ps.player_id = new.player_id",
        )
        .bind::<Array<SqlUuid>, _>(col(|c| c.checkin.0))
        .bind::<Array<SqlUuid>, _>(col(|c| c.hunt.0))
        .bind::<Array<SqlUuid>, _>(col(|c| c.team.0))
        .bind::<Array<SqlUuid>, _>(col(|c| c.player.0))
        .bind::<Array<SqlUuid>, _>(col(|c| c.idempotency_key))
        .bind::<Array<SqlUuid>, _>(col(|c| c.target.0))
        .bind::<Array<Int4>, _>(candidates.iter().map(|c| c.points).collect::<Vec<_>>())
        .bind::<Array<Timestamptz>, _>(candidates.iter().map(|c| c.found_at).collect::<Vec<_>>()),
    )
    .load(&mut conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| NewFind {
            checkin: CheckinId(r.checkin_id),
            target: TargetId(r.target_id),
            player_score_after_batch: r.player_score,
        })
        .collect())
}

/// A check-in to store.
#[derive(Debug, Clone)]
pub struct NewCheckin {
    pub id: CheckinId,
    pub hunt: HuntId,
    pub player: PlayerId,
    pub team: TeamId,
    pub idempotency_key: uuid::Uuid,
    pub request_hash: Vec<u8>,
    pub fix: Fix,
    pub received_at: DateTime<Utc>,
    pub verdict: Verdict,
    pub response: serde_json::Value,
}

#[derive(QueryableByName)]
struct InsertedRow {
    #[diesel(sql_type = SqlUuid)]
    id: uuid::Uuid,
}

/// Appends check-ins in one statement, in order; returns the ids stored. A check-in whose player
/// already used its idempotency key (stored before, or earlier in the same batch) is not stored.
pub async fn insert_many(
    mut conn: &AsyncPgConnection,
    rows: &[NewCheckin],
) -> QueryResult<HashSet<CheckinId>> {
    if rows.is_empty() {
        return Ok(HashSet::new());
    }
    let ids =
        |f: fn(&NewCheckin) -> uuid::Uuid| -> Vec<uuid::Uuid> { rows.iter().map(f).collect() };
    let inserted: Vec<InsertedRow> = cached(
        diesel::sql_query(
            "insert into checkins (id, hunt_id, player_id, team_id, idempotency_key, request_hash, fix, \
                                   accuracy_m, captured_at, received_at, verdict, response) \
             select id, hunt_id, player_id, team_id, idempotency_key, request_hash, fix, \
                    accuracy_m, captured_at, received_at, verdict, response \
             from unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::uuid[], $6::bytea[], $7::geography[], \
                         $8::float8[], $9::timestamptz[], $10::timestamptz[], $11::text[], $12::jsonb[]) with ordinality \
                 as u(id, hunt_id, player_id, team_id, idempotency_key, request_hash, fix, \
                      accuracy_m, captured_at, received_at, verdict, response, n) \
             order by n \
             on conflict (player_id, idempotency_key) do nothing \
             returning id",
        )
        .bind::<Array<SqlUuid>, _>(ids(|r| r.id.0))
        .bind::<Array<SqlUuid>, _>(ids(|r| r.hunt.0))
        .bind::<Array<SqlUuid>, _>(ids(|r| r.player.0))
        .bind::<Array<SqlUuid>, _>(ids(|r| r.team.0))
        .bind::<Array<SqlUuid>, _>(ids(|r| r.idempotency_key))
        .bind::<Array<Bytea>, _>(rows.iter().map(|r| r.request_hash.as_slice()).collect::<Vec<_>>())
        .bind::<Array<Geography>, _>(rows.iter().map(|r| geo::point(r.fix.position)).collect::<Vec<_>>())
        .bind::<Array<Double>, _>(rows.iter().map(|r| r.fix.accuracy_m).collect::<Vec<_>>())
        .bind::<Array<Timestamptz>, _>(rows.iter().map(|r| r.fix.captured_at).collect::<Vec<_>>())
        .bind::<Array<Timestamptz>, _>(rows.iter().map(|r| r.received_at).collect::<Vec<_>>())
        .bind::<Array<Text>, _>(rows.iter().map(|r| r.verdict.as_str()).collect::<Vec<_>>())
        .bind::<Array<Jsonb>, _>(rows.iter().map(|r| &r.response).collect::<Vec<_>>()),
    )
    .load(&mut conn)
    .await?;
    Ok(inserted.into_iter().map(|r| CheckinId(r.id)).collect())
}
