//! The check-in writer's batched statements, each for a whole batch: hunt locks, team locks with
//! what the rules of a find need to know (scores, finds, keys already used), then the check-in rows
//! with their final answers and the finds the rules decided. Reads outside the writer are in
//! `checkins`.
//!
//! The statements take a shared connection reference, so the writer can poll several at once:
//! diesel-async then sends them back to back on the connection (a pipeline) and PostgreSQL runs
//! them in the order they were sent, which is the order they are polled, except that a statement
//! binding a PostGIS type (not built in) first looks its type up on a connection's first use, and
//! the statements after it may overtake it then. So [`store`] (it binds `geography`) comes last in
//! its pipeline, and what must follow it in the same transaction is inside it or in a later round
//! trip.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{
    Array, Bool, Bytea, Double, Int4, Int8, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use postgis_diesel::sql_types::Geography;

use super::geo;
use super::prepared::prepared;
use crate::domain::checkin::{Fix, Verdict};
use crate::domain::ids::{CheckinId, HuntId, PlayerId, TargetId, TeamId};

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
    #[diesel(sql_type = Bool)]
    frozen: bool,
}

/// Share-locks the hunts (in id order, so concurrent writers never deadlock) until the
/// transaction ends, and returns their revisions: no change to a hunt commits between the
/// revision check and the check-ins' commit, and a freeze waits for the finds under way.
pub async fn lock_hunts(
    mut conn: &AsyncPgConnection,
    hunts: &[HuntId],
) -> QueryResult<HashMap<HuntId, LockedHunt>> {
    let ids: Vec<uuid::Uuid> = hunts.iter().map(|h| h.0).collect();
    let rows: Vec<LockedHuntRow> = prepared(
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

/// Locks the teams that may find targets in this transaction, in id order, and returns their
/// current scores. The lock is `for no key update`, what the score update itself takes: a stronger
/// `for update` would also block the foreign-key checks (`for key share`) of other writers'
/// check-in rows of those teams, and two writers would deadlock.
pub async fn team_scores(
    mut conn: &AsyncPgConnection,
    finding: &[TeamId],
) -> QueryResult<HashMap<TeamId, i64>> {
    if finding.is_empty() {
        return Ok(HashMap::new());
    }
    let finding: Vec<uuid::Uuid> = finding.iter().map(|t| t.0).collect();
    let rows: Vec<TeamScoreRow> = prepared(
        diesel::sql_query(
            "select id, score from teams where id = any($1) order by id for no key update",
        )
        .bind::<Array<SqlUuid>, _>(finding),
    )
    .load(&mut conn)
    .await?;
    Ok(rows.into_iter().map(|r| (TeamId(r.id), r.score)).collect())
}

/// Of these (team, target) pairs, those the team has found. Like the other reads here, one index
/// lookup per pair (a lateral subquery, `offset 0` so it is not flattened): joined plainly, the
/// planner, knowing nothing of an array's size, chose a hash join over the whole table (273 us per
/// check-in at the find-heavy mix of `ops/bench.sh checkin_http`). The caller holds the teams' row
/// locks ([`team_scores`]), under which every find of theirs is recorded, so the answer holds until
/// the transaction ends.
pub async fn found_before(
    mut conn: &AsyncPgConnection,
    pairs: &[(TeamId, TargetId)],
) -> QueryResult<HashSet<(TeamId, TargetId)>> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = SqlUuid)]
        team_id: uuid::Uuid,
        #[diesel(sql_type = SqlUuid)]
        target_id: uuid::Uuid,
    }
    if pairs.is_empty() {
        return Ok(HashSet::new());
    }
    let rows: Vec<Row> = prepared(
        diesel::sql_query(
            "select f.team_id, f.target_id from unnest($1::uuid[], $2::uuid[]) as p(team_id, target_id) \
             cross join lateral (select f.team_id, f.target_id from finds f \
                                 where f.team_id = p.team_id and f.target_id = p.target_id offset 0) f",
        )
        .bind::<Array<SqlUuid>, _>(pairs.iter().map(|(t, _)| t.0).collect::<Vec<_>>())
        .bind::<Array<SqlUuid>, _>(pairs.iter().map(|(_, t)| t.0).collect::<Vec<_>>()),
    )
    .load(&mut conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (TeamId(r.team_id), TargetId(r.target_id)))
        .collect())
}

/// The hunt scores of these players (a player without a row has none yet). Read under their teams'
/// row locks, like [`found_before`].
pub async fn player_scores(
    mut conn: &AsyncPgConnection,
    players: &[(HuntId, PlayerId)],
) -> QueryResult<HashMap<(HuntId, PlayerId), i64>> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = SqlUuid)]
        hunt_id: uuid::Uuid,
        #[diesel(sql_type = SqlUuid)]
        player_id: uuid::Uuid,
        #[diesel(sql_type = Int8)]
        score: i64,
    }
    if players.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<Row> = prepared(
        diesel::sql_query(
            "select s.hunt_id, s.player_id, s.score from unnest($1::uuid[], $2::uuid[]) as p(hunt_id, player_id) \
             cross join lateral (select s.hunt_id, s.player_id, s.score from player_scores s \
                                 where s.hunt_id = p.hunt_id and s.player_id = p.player_id offset 0) s",
        )
        .bind::<Array<SqlUuid>, _>(players.iter().map(|(h, _)| h.0).collect::<Vec<_>>())
        .bind::<Array<SqlUuid>, _>(players.iter().map(|(_, p)| p.0).collect::<Vec<_>>()),
    )
    .load(&mut conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| ((HuntId(r.hunt_id), PlayerId(r.player_id)), r.score))
        .collect())
}

/// Of these (player, idempotency key) pairs, those already stored (committed). A key that a
/// concurrent transaction is storing is not seen here: [`store`] then waits for it and skips the
/// row, and the writer runs the batch again.
pub async fn known_keys(
    mut conn: &AsyncPgConnection,
    keys: &[(PlayerId, uuid::Uuid)],
) -> QueryResult<HashSet<(PlayerId, uuid::Uuid)>> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = SqlUuid)]
        player_id: uuid::Uuid,
        #[diesel(sql_type = SqlUuid)]
        idempotency_key: uuid::Uuid,
    }
    if keys.is_empty() {
        return Ok(HashSet::new());
    }
    let rows: Vec<Row> = prepared(
        diesel::sql_query(
            "select c.player_id, c.idempotency_key from unnest($1::uuid[], $2::uuid[]) as k(player_id, idempotency_key) \
             cross join lateral (select c.player_id, c.idempotency_key from checkins c \
                                 where c.player_id = k.player_id and c.idempotency_key = k.idempotency_key \
                                 offset 0) c",
        )
        .bind::<Array<SqlUuid>, _>(keys.iter().map(|(p, _)| p.0).collect::<Vec<_>>())
        .bind::<Array<SqlUuid>, _>(keys.iter().map(|(_, k)| *k).collect::<Vec<_>>()),
    )
    .load(&mut conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (PlayerId(r.player_id), r.idempotency_key))
        .collect())
}

/// A check-in to store, with its final answer.
#[derive(Debug, Clone)]
pub struct NewCheckin {
    pub id: CheckinId,
    pub hunt: HuntId,
    /// The hunt revision the check-in was judged against: the row is stored only at that revision.
    pub revision: i64,
    pub player: PlayerId,
    pub team: TeamId,
    pub idempotency_key: uuid::Uuid,
    pub request_hash: Vec<u8>,
    pub fix: Fix,
    pub received_at: DateTime<Utc>,
    pub verdict: Verdict,
    /// The stored response.
    pub response: serde_json::Value,
    /// Whether the response's `team_score` is set here to the team's score as the row is written
    /// (a check-in that matched nothing); a claim's response carries the score the rules decided.
    pub score_from_team: bool,
}

/// A find the rules of a find decided, to be recorded with its check-in.
#[derive(Debug, Clone, Copy)]
pub struct NewFind {
    pub checkin: CheckinId,
    pub hunt: HuntId,
    pub team: TeamId,
    pub player: PlayerId,
    pub target: TargetId,
    pub points: i32,
    pub found_at: DateTime<Utc>,
}

/// What [`store`] wrote.
#[derive(Debug, Default)]
pub struct Stored {
    /// The check-ins stored, each with the `team_score` its response was written with.
    pub checkins: HashMap<CheckinId, i64>,
    /// How many finds were recorded.
    pub finds: usize,
}

#[derive(QueryableByName)]
struct StoreRow {
    /// `None` on the row that counts the finds.
    #[diesel(sql_type = Nullable<SqlUuid>)]
    checkin_id: Option<uuid::Uuid>,
    #[diesel(sql_type = Nullable<Int8>)]
    team_score: Option<i64>,
}

/// Stores check-in rows and the finds decided for them, with their points added to team and player
/// scores, in one statement. The caller holds the finding teams' row locks ([`team_scores`]) and
/// the hunts' share locks ([`lock_hunts`]) and decided everything from what it read under them.
///
/// A row whose hunt is no longer at its `revision` is skipped (a batch without claims judges
/// revisions here, in the same round trip as [`lock_hunts`]). A row whose player already used its
/// idempotency key is skipped (a concurrent transaction
/// storing it is waited for), and the finds of a skipped check-in are not recorded: the caller
/// compares what was stored with what it decided. Rows go in (player, key) order in every
/// transaction, so that two writers waiting for each other's keys cannot deadlock.
pub async fn store(
    mut conn: &AsyncPgConnection,
    rows: &[NewCheckin],
    finds: &[NewFind],
) -> QueryResult<Stored> {
    if rows.is_empty() {
        return Ok(Stored::default());
    }
    let ids =
        |f: fn(&NewCheckin) -> uuid::Uuid| -> Vec<uuid::Uuid> { rows.iter().map(f).collect() };
    let col = |f: fn(&NewFind) -> uuid::Uuid| -> Vec<uuid::Uuid> { finds.iter().map(f).collect() };
    let out: Vec<StoreRow> = prepared(
        diesel::sql_query(
            "with u as ( \
                 select * from unnest($1::uuid[], $2::uuid[], $3::int8[], $4::uuid[], $5::uuid[], $6::uuid[], \
                                      $7::bytea[], $8::geography[], $9::float8[], $10::timestamptz[], \
                                      $11::timestamptz[], $12::text[], $13::jsonb[], $14::bool[]) with ordinality \
                     as u(id, hunt_id, revision, player_id, team_id, idempotency_key, request_hash, fix, \
                          accuracy_m, captured_at, received_at, verdict, response, score_from_team, n)), \
             ins as ( \
                 insert into checkins (id, hunt_id, player_id, team_id, idempotency_key, request_hash, fix, \
                                       accuracy_m, captured_at, received_at, verdict, response) \
                 select u.id, u.hunt_id, u.player_id, u.team_id, u.idempotency_key, u.request_hash, u.fix, \
                        u.accuracy_m, u.captured_at, u.received_at, u.verdict, \
                        case when u.score_from_team then jsonb_set(u.response, '{team_score}', to_jsonb(t.score)) \
                             else u.response end \
                 from u join hunts h on h.id = u.hunt_id and h.revision = u.revision \
                 join teams t on t.id = u.team_id \
                 order by u.player_id, u.idempotency_key, u.n \
                 on conflict (player_id, idempotency_key) do nothing \
                 returning id, (response->>'team_score')::int8 as team_score), \
             m as ( \
                 select * from unnest($15::uuid[], $16::uuid[], $17::uuid[], $18::uuid[], $19::uuid[], \
                                      $20::int[], $21::timestamptz[]) with ordinality \
                     as m(checkin_id, hunt_id, team_id, player_id, target_id, points, found_at, n)), \
             new as ( \
                 insert into finds (team_id, target_id, hunt_id, player_id, checkin_id, points, found_at) \
                 select m.team_id, m.target_id, m.hunt_id, m.player_id, m.checkin_id, m.points, m.found_at \
                 from m where m.checkin_id in (select id from ins) \
                 order by m.n \
                 on conflict (team_id, target_id) do nothing \
                 returning team_id, hunt_id, player_id, points), \
             up as ( \
                 update teams t set score = t.score + d.delta \
                 from (select team_id, sum(points) as delta from new group by team_id) d where t.id = d.team_id), \
             ps as ( \
                 insert into player_scores (hunt_id, player_id, score) \
                 select hunt_id, player_id, sum(points) from new group by hunt_id, player_id \
                 on conflict (hunt_id, player_id) do update set score = player_scores.score + excluded.score) \
             select id as checkin_id, team_score from ins \
             union all \
             select null, count(*) from new",
        )
        .bind::<Array<SqlUuid>, _>(ids(|r| r.id.0))
        .bind::<Array<SqlUuid>, _>(ids(|r| r.hunt.0))
        .bind::<Array<Int8>, _>(rows.iter().map(|r| r.revision).collect::<Vec<_>>())
        .bind::<Array<SqlUuid>, _>(ids(|r| r.player.0))
        .bind::<Array<SqlUuid>, _>(ids(|r| r.team.0))
        .bind::<Array<SqlUuid>, _>(ids(|r| r.idempotency_key))
        .bind::<Array<Bytea>, _>(rows.iter().map(|r| r.request_hash.as_slice()).collect::<Vec<_>>())
        .bind::<Array<Geography>, _>(rows.iter().map(|r| geo::point(r.fix.position)).collect::<Vec<_>>())
        .bind::<Array<Double>, _>(rows.iter().map(|r| r.fix.accuracy_m).collect::<Vec<_>>())
        .bind::<Array<Timestamptz>, _>(rows.iter().map(|r| r.fix.captured_at).collect::<Vec<_>>())
        .bind::<Array<Timestamptz>, _>(rows.iter().map(|r| r.received_at).collect::<Vec<_>>())
        .bind::<Array<Text>, _>(rows.iter().map(|r| r.verdict.as_str()).collect::<Vec<_>>())
        .bind::<Array<Jsonb>, _>(rows.iter().map(|r| &r.response).collect::<Vec<_>>())
        .bind::<Array<Bool>, _>(rows.iter().map(|r| r.score_from_team).collect::<Vec<_>>())
        .bind::<Array<SqlUuid>, _>(col(|f| f.checkin.0))
        .bind::<Array<SqlUuid>, _>(col(|f| f.hunt.0))
        .bind::<Array<SqlUuid>, _>(col(|f| f.team.0))
        .bind::<Array<SqlUuid>, _>(col(|f| f.player.0))
        .bind::<Array<SqlUuid>, _>(col(|f| f.target.0))
        .bind::<Array<Int4>, _>(finds.iter().map(|f| f.points).collect::<Vec<_>>())
        .bind::<Array<Timestamptz>, _>(finds.iter().map(|f| f.found_at).collect::<Vec<_>>()),
    )
    .load(&mut conn)
    .await?;
    let mut stored = Stored::default();
    for r in out {
        match (r.checkin_id, r.team_score) {
            (Some(id), Some(score)) => {
                stored.checkins.insert(CheckinId(id), score);
            }
            (None, Some(count)) => stored.finds = usize::try_from(count).unwrap_or(usize::MAX),
            (Some(_), None) | (None, None) => {
                return Err(diesel::result::Error::DeserializationError(
                    "a stored check-in without its team score".into(),
                ));
            }
        }
    }
    Ok(stored)
}
