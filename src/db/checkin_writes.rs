//! The check-in writer's batched statements, each for a whole batch: hunt locks, team locks and
//! scores, check-in rows with the finds they make, the fill of claimed rows. Reads are in `checkins`.
//!
//! The statements take a shared connection reference, so the writer can poll several at once:
//! diesel-async then sends them back to back on the connection (a pipeline) and PostgreSQL runs
//! them in the order they were sent, which is the order they are polled, except that a statement
//! binding a PostGIS type (not built in) first looks its type up on a connection's first use, and
//! the statements after it may overtake it then. So [`store`] (it binds `geography`) comes last in
//! its pipeline, and what must follow it in the same transaction is inside it or in a later round
//! trip.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{
    Array, Bytea, Double, Int4, Int8, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid,
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
    #[diesel(sql_type = diesel::sql_types::Bool)]
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

/// A check-in to store. A check-in that matched targets is stored as a claim of its key
/// (`response: None`): a placeholder, filled in by [`fill_claims`] in the same transaction once its
/// finds are known (a placeholder cannot commit: the `checkins_claim_filled` trigger).
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
    /// The final response, its `team_score` set to the team's score as the row is written; `None`
    /// for a claim.
    pub response: Option<serde_json::Value>,
}

/// A target a claimed check-in matched, to be recorded as a find unless the team has it already.
#[derive(Debug, Clone, Copy)]
pub struct FindCandidate {
    pub checkin: CheckinId,
    pub hunt: HuntId,
    pub team: TeamId,
    pub player: PlayerId,
    pub target: TargetId,
    pub points: i32,
    pub found_at: DateTime<Utc>,
}

/// A find that was new.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NewFind {
    pub checkin: CheckinId,
    pub target: TargetId,
    /// The finder's score in the hunt after all of this batch's finds.
    pub player_score_after_batch: i64,
}

/// What [`store`] wrote.
#[derive(Debug, Default)]
pub struct Stored {
    /// The check-ins stored, each with the `team_score` its response was written with (`None`
    /// for a claim).
    pub checkins: HashMap<CheckinId, Option<i64>>,
    pub finds: Vec<NewFind>,
}

#[derive(QueryableByName)]
struct StoreRow {
    #[diesel(sql_type = SqlUuid)]
    checkin_id: uuid::Uuid,
    /// Set on the rows of finds.
    #[diesel(sql_type = Nullable<SqlUuid>)]
    target_id: Option<uuid::Uuid>,
    #[diesel(sql_type = Nullable<Int8>)]
    team_score: Option<i64>,
    #[diesel(sql_type = Nullable<Int8>)]
    player_score: Option<i64>,
}

/// Stores check-in rows and the finds of the claimed ones, with their points added to team and
/// player scores, in one statement. The caller holds the finding teams' row locks
/// ([`team_scores`]).
///
/// Not stored: a check-in whose hunt is no longer at its `revision`, or whose player already used
/// its idempotency key (stored before, by a concurrent transaction, which this statement waits
/// for, or earlier in `rows`: the first wins). Only a stored claim's candidates can become finds,
/// each at most once per team and target (the first candidate wins): so a check-in that lost its
/// key finds nothing, and nothing else has to run again. Rows go in (player, key) order in every
/// transaction, so that two writers waiting for each other's keys cannot deadlock. The `team_score`
/// of a settled response is the team's score before this statement's finds.
pub async fn store(
    mut conn: &AsyncPgConnection,
    rows: &[NewCheckin],
    candidates: &[FindCandidate],
) -> QueryResult<Stored> {
    if rows.is_empty() {
        return Ok(Stored::default());
    }
    let ids =
        |f: fn(&NewCheckin) -> uuid::Uuid| -> Vec<uuid::Uuid> { rows.iter().map(f).collect() };
    let col = |f: fn(&FindCandidate) -> uuid::Uuid| -> Vec<uuid::Uuid> {
        candidates.iter().map(f).collect()
    };
    let responses: Vec<&serde_json::Value> = rows
        .iter()
        .map(|r| r.response.as_ref().unwrap_or(&serde_json::Value::Null))
        .collect();
    let out: Vec<StoreRow> = prepared(
        diesel::sql_query(
            "with u as ( \
                 select * from unnest($1::uuid[], $2::uuid[], $3::int8[], $4::uuid[], $5::uuid[], $6::uuid[], \
                                      $7::bytea[], $8::geography[], $9::float8[], $10::timestamptz[], \
                                      $11::timestamptz[], $12::text[], $13::jsonb[]) with ordinality \
                     as u(id, hunt_id, revision, player_id, team_id, idempotency_key, request_hash, fix, \
                          accuracy_m, captured_at, received_at, verdict, response, n)), \
             ins as ( \
                 insert into checkins (id, hunt_id, player_id, team_id, idempotency_key, request_hash, fix, \
                                       accuracy_m, captured_at, received_at, verdict, response) \
                 select u.id, u.hunt_id, u.player_id, u.team_id, u.idempotency_key, u.request_hash, u.fix, \
                        u.accuracy_m, u.captured_at, u.received_at, u.verdict, \
                        case when u.response = 'null'::jsonb then u.response \
                             else jsonb_set(u.response, '{team_score}', to_jsonb(t.score)) end \
                 from u join hunts h on h.id = u.hunt_id and h.revision = u.revision \
                 join teams t on t.id = u.team_id \
                 order by u.player_id, u.idempotency_key, u.n \
                 on conflict (player_id, idempotency_key) do nothing \
                 returning id, (response->>'team_score')::int8 as team_score), \
             m as ( \
                 select * from unnest($14::uuid[], $15::uuid[], $16::uuid[], $17::uuid[], $18::uuid[], \
                                      $19::int[], $20::timestamptz[]) with ordinality \
                     as m(checkin_id, hunt_id, team_id, player_id, target_id, points, found_at, n)), \
             new as ( \
                 insert into finds (team_id, target_id, hunt_id, player_id, checkin_id, points, found_at) \
                 select m.team_id, m.target_id, m.hunt_id, m.player_id, m.checkin_id, m.points, m.found_at \
                 from m where m.checkin_id in (select id from ins) \
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
             select id as checkin_id, null::uuid as target_id, team_score, null::int8 as player_score from ins \
             union all \
             select new.checkin_id, new.target_id, null, ps.score \
             from new join ps on ps.hunt_id = new.hunt_id and ps.player_id = new.player_id",
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
        .bind::<Array<Jsonb>, _>(responses)
        .bind::<Array<SqlUuid>, _>(col(|c| c.checkin.0))
        .bind::<Array<SqlUuid>, _>(col(|c| c.hunt.0))
        .bind::<Array<SqlUuid>, _>(col(|c| c.team.0))
        .bind::<Array<SqlUuid>, _>(col(|c| c.player.0))
        .bind::<Array<SqlUuid>, _>(col(|c| c.target.0))
        .bind::<Array<Int4>, _>(candidates.iter().map(|c| c.points).collect::<Vec<_>>())
        .bind::<Array<Timestamptz>, _>(candidates.iter().map(|c| c.found_at).collect::<Vec<_>>()),
    )
    .load(&mut conn)
    .await?;
    let mut stored = Stored::default();
    for r in out {
        let checkin = CheckinId(r.checkin_id);
        match (r.target_id, r.player_score) {
            (Some(target), Some(score)) => stored.finds.push(NewFind {
                checkin,
                target: TargetId(target),
                player_score_after_batch: score,
            }),
            _ => {
                stored.checkins.insert(checkin, r.team_score);
            }
        }
    }
    Ok(stored)
}

/// The settled verdict and response of a claimed check-in.
#[derive(Debug, Clone)]
pub struct Fill {
    pub id: CheckinId,
    pub verdict: Verdict,
    pub response: serde_json::Value,
}

/// Fills in the claims this transaction stored (rows with `response: None`); returns how many
/// rows it updated.
pub async fn fill_claims(mut conn: &AsyncPgConnection, fills: &[Fill]) -> QueryResult<usize> {
    if fills.is_empty() {
        return Ok(0);
    }
    prepared(
        diesel::sql_query(
            "update checkins c set verdict = u.verdict, response = u.response \
             from unnest($1::uuid[], $2::text[], $3::jsonb[]) as u(id, verdict, response) \
             where c.id = u.id",
        )
        .bind::<Array<SqlUuid>, _>(fills.iter().map(|f| f.id.0).collect::<Vec<_>>())
        .bind::<Array<Text>, _>(fills.iter().map(|f| f.verdict.as_str()).collect::<Vec<_>>())
        .bind::<Array<Jsonb>, _>(fills.iter().map(|f| &f.response).collect::<Vec<_>>()),
    )
    .execute(&mut conn)
    .await
}
