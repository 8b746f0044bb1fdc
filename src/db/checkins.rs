//! Check-ins and finds: the one-query read of everything a check-in needs, and the durable writes.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Bytea, Int4, Int8, Jsonb, Nullable, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::geo;
use super::schema::{checkins, finds};
use crate::domain::checkin::{Fix, Verdict};
use crate::domain::geofence::AccuracyPolicy;
use crate::domain::hunt::{HuntStatus, Rules, Schedule};
use crate::domain::ids::{CheckinId, HuntId, PlayerId, TargetId, TeamId};

/// Everything a check-in reads, in one round trip.
#[derive(Debug, Clone)]
pub struct CheckinContext {
    pub status: HuntStatus,
    pub schedule: Schedule,
    pub rules: Rules,
    pub targets_version: i64,
    /// The player's team in this hunt, its name and its current score.
    pub team: Option<(TeamId, String, i64)>,
    /// The player's handle.
    pub handle: String,
    /// A check-in already stored under this idempotency key: its request hash and response.
    pub stored: Option<(Vec<u8>, serde_json::Value)>,
}

#[derive(QueryableByName)]
struct ContextRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    status: String,
    #[diesel(sql_type = Timestamptz)]
    teaser_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    live_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    ends_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    archive_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = diesel::sql_types::Text)]
    accuracy_policy: String,
    #[diesel(sql_type = diesel::sql_types::Double)]
    max_accuracy_m: f64,
    #[diesel(sql_type = Int4)]
    team_max_size: i32,
    #[diesel(sql_type = Int8)]
    targets_version: i64,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    team_id: Option<uuid::Uuid>,
    #[diesel(sql_type = Nullable<Int8>)]
    team_score: Option<i64>,
    #[diesel(sql_type = Nullable<diesel::sql_types::Text>)]
    team_name: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Text)]
    handle: String,
    #[diesel(sql_type = Nullable<Bytea>)]
    request_hash: Option<Vec<u8>>,
    #[diesel(sql_type = Nullable<Jsonb>)]
    response: Option<serde_json::Value>,
}

/// Reads the hunt's gate, the player's team and any stored check-in for this key. `None` when the
/// hunt does not exist or is a draft (players never see drafts).
pub async fn context(
    conn: &mut AsyncPgConnection,
    hunt: HuntId,
    player: PlayerId,
    idempotency_key: uuid::Uuid,
) -> QueryResult<Option<CheckinContext>> {
    let row: Option<ContextRow> = super::cached::cached(diesel::sql_query(
        "select h.status, h.teaser_at, h.live_at, h.ends_at, h.archive_at, h.accuracy_policy, h.max_accuracy_m, \
                h.team_max_size, h.targets_version, m.team_id, t.score as team_score, t.name as team_name, \
                p.handle, c.request_hash, c.response \
         from hunts h \
         join players p on p.id = $2 \
         left join team_members m on m.hunt_id = h.id and m.player_id = $2 \
         left join teams t on t.id = m.team_id \
         left join checkins c on c.player_id = $2 and c.idempotency_key = $3 \
         where h.id = $1 and h.status <> 'draft'",
    )
    .bind::<SqlUuid, _>(hunt.0)
    .bind::<SqlUuid, _>(player.0)
    .bind::<SqlUuid, _>(idempotency_key))
    .get_result(conn)
    .await
    .optional()?;
    Ok(row.map(|r| CheckinContext {
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
        },
        targets_version: r.targets_version,
        team: r.team_id.map(|t| {
            (
                TeamId(t),
                r.team_name.unwrap_or_default(),
                r.team_score.unwrap_or(0),
            )
        }),
        handle: r.handle,
        stored: r.request_hash.zip(r.response),
    }))
}

/// The stored request hash and response of a key (after losing an insert race).
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

#[derive(QueryableByName)]
struct FindsOutcome {
    #[diesel(sql_type = Array<SqlUuid>)]
    new_ids: Vec<uuid::Uuid>,
    #[diesel(sql_type = Int8)]
    score: i64,
    #[diesel(sql_type = Int8)]
    player_score: i64,
}

/// What recording finds changed.
#[derive(Debug, Clone, PartialEq)]
pub struct FindsOutcomeView {
    pub new_ids: Vec<TargetId>,
    /// The team's score after.
    pub team_score: i64,
    /// The finder's own score in the hunt after.
    pub player_score: i64,
}

/// Records finds of `matched` (id, points) for a team, each at most once per team and target, and
/// adds the new points to the team's and the finder's scores, in one statement.
pub async fn record_finds(
    conn: &mut AsyncPgConnection,
    hunt: HuntId,
    team: TeamId,
    player: PlayerId,
    checkin: CheckinId,
    found_at: DateTime<Utc>,
    matched: &[(TargetId, i32)],
) -> QueryResult<FindsOutcomeView> {
    let ids: Vec<uuid::Uuid> = matched.iter().map(|(t, _)| t.0).collect();
    let points: Vec<i32> = matched.iter().map(|(_, p)| *p).collect();
    let out: FindsOutcome = super::cached::cached(diesel::sql_query(
        "with m as (select * from unnest($1::uuid[], $2::int[]) as m(target_id, points)), \
         new as ( \
             insert into finds (team_id, target_id, hunt_id, player_id, checkin_id, points, found_at) \
             select $3, m.target_id, $4, $5, $6, m.points, $7 from m \
             on conflict (team_id, target_id) do nothing \
             returning target_id, points), \
         up as ( \
             update teams set score = score + (select coalesce(sum(points), 0) from new) \
             where id = $3 and exists (select 1 from new) returning score), \
         ps as ( \
             insert into player_scores (hunt_id, player_id, score) \
             select $4, $5, sum(points) from new having count(*) > 0 \
             on conflict (hunt_id, player_id) do update set score = player_scores.score + excluded.score \
             returning score) \
         select coalesce(array(select target_id from new), '{}') as new_ids, \
                coalesce((select score from up), (select score from teams where id = $3)) as score, \
                coalesce((select score from ps), (select score from player_scores where hunt_id = $4 and player_id = $5), 0) \
                    as player_score",
    )
    .bind::<Array<SqlUuid>, _>(ids)
    .bind::<Array<Int4>, _>(points)
    .bind::<SqlUuid, _>(team.0)
    .bind::<SqlUuid, _>(hunt.0)
    .bind::<SqlUuid, _>(player.0)
    .bind::<SqlUuid, _>(checkin.0)
    .bind::<Timestamptz, _>(found_at))
    .get_result(conn)
    .await?;
    Ok(FindsOutcomeView {
        new_ids: out.new_ids.into_iter().map(TargetId).collect(),
        team_score: out.score,
        player_score: out.player_score,
    })
}

/// A check-in to store.
#[derive(Debug, Clone)]
pub struct NewCheckin<'a> {
    pub id: CheckinId,
    pub hunt: HuntId,
    pub player: PlayerId,
    pub team: TeamId,
    pub idempotency_key: uuid::Uuid,
    pub request_hash: &'a [u8],
    pub fix: Fix,
    pub received_at: DateTime<Utc>,
    pub verdict: Verdict,
    pub response: &'a serde_json::Value,
}

/// Appends a check-in; false when this player already used the idempotency key (nothing written).
pub async fn insert(conn: &mut AsyncPgConnection, c: &NewCheckin<'_>) -> QueryResult<bool> {
    let n = diesel::insert_into(checkins::table)
        .values((
            checkins::id.eq(c.id.0),
            checkins::hunt_id.eq(c.hunt.0),
            checkins::player_id.eq(c.player.0),
            checkins::team_id.eq(c.team.0),
            checkins::idempotency_key.eq(c.idempotency_key),
            checkins::request_hash.eq(c.request_hash),
            checkins::fix.eq(geo::point(c.fix.position)),
            checkins::accuracy_m.eq(c.fix.accuracy_m),
            checkins::captured_at.eq(c.fix.captured_at),
            checkins::received_at.eq(c.received_at),
            checkins::verdict.eq(c.verdict.as_str()),
            checkins::response.eq(c.response),
        ))
        .on_conflict((checkins::player_id, checkins::idempotency_key))
        .do_nothing()
        .execute(conn)
        .await?;
    Ok(n == 1)
}
