//! The push outbox: push jobs (one per pushable event, written with it) expanded to one
//! notification per device of its audience, claimed by dispatchers with a lease, then deleted
//! when settled or released for a retry; and the names a notification shows.

use chrono::{DateTime, Utc};
use diesel::QueryableByName;
use diesel::sql_types::{
    Array, BigInt, Bool, Bytea, Integer, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::events::visible;
use super::prepared::prepared;
use crate::domain::event::NameMap;
use crate::domain::ids::{HuntId, PlayerId, TeamId};

/// What one expansion did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, QueryableByName)]
pub struct Expanded {
    /// Push jobs (events) expanded.
    #[diesel(sql_type = BigInt)]
    pub jobs: i64,
    /// Notifications (one per device) written.
    #[diesel(sql_type = BigInt)]
    pub notifications: i64,
}

/// Expands up to `limit` push jobs of numbered events into one outbox row per device of their
/// audience, and deletes the jobs, in one statement (so once, with any number of nodes:
/// `skip locked`). Who is told what:
/// - `target_found` -> `find`: the finder's teammates, not the finder;
/// - `clue_revealed` -> `clue`: the team;
/// - `broadcast` -> `broadcast`: the team it names, or every player of the hunt;
/// - `phase_changed` (live or ended) -> `phase`: every player of the hunt;
/// - `score_changed` with a positive delta -> `rank`: the members of every team it overtook,
///   from below or level to strictly above (team scores as they are now; none while the
///   leaderboard is frozen, as the scores are secret then). A team's several climbs in one
///   expansion count as one, from its lowest to its highest score, announced with its last
///   event (push services keep only the latest rank push anyway: one `Topic`).
///
/// The work follows the subscribed players of the hunts concerned: a hunt where nobody
/// subscribed costs one lookup.
///
/// Never for a muted category, nor to a player with a live WebSocket on any node (seen in the
/// last 45 s) unless they asked for both.
///
/// Its work is the jobs it takes, not the length of the event log: each job's event is looked up
/// by id (the `lateral ... offset 0` keeps that a nested loop). Joined plainly, the planner hashed
/// or merged the whole `events` table at every expansion once it held some 100,000 rows: 57 ms a
/// call under check-in load, 113 us of PostgreSQL time per check-in at a find-heavy mix; 4.6 ms
/// for 1,000 jobs with the lookup by id.
///
/// The notifications are due from `now` (the node's clock, like every retry time).
pub async fn expand(
    conn: &mut AsyncPgConnection,
    limit: i64,
    now: DateTime<Utc>,
) -> diesel::QueryResult<Expanded> {
    prepared(
        diesel::sql_query(concat!(
            "with jobs as ( \
               select j.event_id from push_jobs j \
               cross join lateral (select 1 from events e \
                 where e.id = j.event_id and e.event_offset is not null offset 0) numbered \
               order by j.event_id limit $1 \
               for update of j skip locked), \
             gone as (delete from push_jobs j using jobs where j.event_id = jobs.event_id \
               returning j.event_id), \
             ev as materialized (select e.* from gone cross join lateral ( \
               select e.id, e.created_at, e.hunt_id, e.kind, e.team_id, e.player_id, e.staff_only, e.data \
               from events e where e.id = gone.event_id offset 0) e), \
             subs as materialized ( \
               select m.hunt_id, m.team_id, m.player_id, s.id as sub_id, \
                 coalesce(p.muted, '{}') as muted \
               from (select distinct hunt_id from ev) h \
               join team_members m on m.hunt_id = h.hunt_id \
               join push_subscriptions s on s.player_id = m.player_id \
               left join push_preferences p on p.player_id = m.player_id \
               where coalesce(p.also_when_connected, false) or not exists ( \
                 select 1 from push_presence pr \
                 where pr.player_id = m.player_id and pr.seen_at > now() - interval '45 seconds')), \
             scored as ( \
               select e.id, e.created_at, e.hunt_id, (e.data ->> 'team_id')::uuid as team, \
                 (e.data ->> 'score')::bigint as high, \
                 (e.data ->> 'score')::bigint - (e.data ->> 'delta')::bigint as low \
               from ev e where e.kind = 'score_changed' \
                 and exists (select 1 from subs where subs.hunt_id = e.hunt_id)), \
             climbs as ( \
               select distinct on (team) team, hunt_id, id, created_at, \
                 min(low) over (partition by team) as low, max(high) over (partition by team) as high \
               from scored order by team, id desc), \
             wanted as ( \
               select e.id as event_id, e.created_at, e.hunt_id, \
                 case e.kind when 'target_found' then 'find' when 'clue_revealed' then 'clue' \
                   when 'broadcast' then 'broadcast' else 'phase' end as category, \
                 e.team_id, e.player_id, e.staff_only, \
                 case when e.kind = 'target_found' then (e.data ->> 'player_id')::uuid end as skip \
               from ev e where e.kind <> 'score_changed' \
               union all \
               select c.id, c.created_at, c.hunt_id, 'rank', t.id, null::uuid, false, null \
               from climbs c \
               join hunts h on h.id = c.hunt_id and h.frozen_at_offset is null \
               join teams t on t.hunt_id = c.hunt_id \
               where t.id <> c.team and t.score >= c.low and t.score < c.high), \
             ins as ( \
               insert into push_outbox (event_id, subscription_id, category, created_at, not_before) \
               select n.event_id, u.sub_id, n.category, n.created_at, $2 \
               from wanted n \
               join subs u on u.hunt_id = n.hunt_id and ",
            visible!("n.", "false", "u.team_id", "u.player_id"),
            " \
               where (n.skip is null or u.player_id <> n.skip) \
                 and not (n.category = any (u.muted)) \
               returning 1) \
             select (select count(*) from gone) as jobs, (select count(*) from ins) as notifications"
        ))
        .bind::<BigInt, _>(limit)
        .bind::<Timestamptz, _>(now),
    )
    .get_result(conn)
    .await
}

/// A notification claimed for sending, with what it takes to build it.
#[derive(Debug, Clone, QueryableByName)]
pub struct Claimed {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Text)]
    pub category: String,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
    #[diesel(sql_type = SqlUuid)]
    pub hunt_id: uuid::Uuid,
    #[diesel(sql_type = Text)]
    pub hunt_title: String,
    #[diesel(sql_type = BigInt)]
    pub event_offset: i64,
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = Jsonb)]
    pub data: serde_json::Value,
    #[diesel(sql_type = BigInt)]
    pub subscription_id: i64,
    #[diesel(sql_type = Text)]
    pub endpoint: String,
    #[diesel(sql_type = Bytea)]
    pub p256dh: Vec<u8>,
    #[diesel(sql_type = Bytea)]
    pub auth: Vec<u8>,
}

impl Claimed {
    pub fn hunt(&self) -> HuntId {
        HuntId(self.hunt_id)
    }
}

/// Claims up to `limit` notifications due at `now` whose event is numbered, leasing them for
/// `lease_s` seconds. The row locks end with the caller's statement (autocommit): no lock is held
/// while sending. Leases are on PostgreSQL's clock, shared by every node.
pub async fn claim(
    conn: &mut AsyncPgConnection,
    limit: i64,
    lease_s: i64,
    now: DateTime<Utc>,
) -> diesel::QueryResult<Vec<Claimed>> {
    prepared(
        diesel::sql_query(
            "with due as ( \
               select o.id from push_outbox o join events e on e.id = o.event_id \
               where o.not_before <= $3 and (o.lease_until is null or o.lease_until < now()) \
                 and e.event_offset is not null \
               order by o.not_before, o.id limit $1 for update of o skip locked) \
             update push_outbox o \
               set lease_until = now() + make_interval(secs => $2::float8), attempts = o.attempts + 1 \
             from due, events e, push_subscriptions s, hunts h \
             where o.id = due.id and e.id = o.event_id and s.id = o.subscription_id \
               and h.id = e.hunt_id \
             returning o.id, o.category, o.created_at, o.attempts, e.hunt_id, h.title as hunt_title, \
               e.event_offset, e.kind, e.data, s.id as subscription_id, s.endpoint, s.p256dh, s.auth",
        )
        .bind::<BigInt, _>(limit)
        .bind::<BigInt, _>(lease_s)
        .bind::<Timestamptz, _>(now),
    )
    .load(conn)
    .await
}

/// Deletes notifications that are settled (delivered, refused, or past their TTL).
pub async fn delete_settled(conn: &mut AsyncPgConnection, ids: &[i64]) -> diesel::QueryResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    prepared(
        diesel::sql_query("delete from push_outbox where id = any($1)")
            .bind::<Array<BigInt>, _>(ids),
    )
    .execute(conn)
    .await
    .map(drop)
}

/// Deletes notifications older at `now` than any TTL (12 h) could keep: nothing will send them.
pub async fn delete_stale(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
) -> diesel::QueryResult<usize> {
    diesel::sql_query("delete from push_outbox where created_at < $1 - interval '24 hours'")
        .bind::<Timestamptz, _>(now)
        .execute(conn)
        .await
}

/// Releases notifications to be tried again, each its delay (milliseconds) after `now`.
pub async fn retry(
    conn: &mut AsyncPgConnection,
    ids: &[i64],
    delays_ms: &[i64],
    now: DateTime<Utc>,
) -> diesel::QueryResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    prepared(
        diesel::sql_query(
            "update push_outbox o set lease_until = null, \
               not_before = $3 + make_interval(secs => r.ms / 1000.0::float8) \
             from unnest($1::bigint[], $2::bigint[]) as r(id, ms) where o.id = r.id",
        )
        .bind::<Array<BigInt>, _>(ids)
        .bind::<Array<BigInt>, _>(delays_ms)
        .bind::<Timestamptz, _>(now),
    )
    .execute(conn)
    .await
    .map(drop)
}

/// The outbox's depth and the age of its oldest notification (seconds).
#[derive(Debug, Clone, Copy, QueryableByName)]
pub struct Depth {
    #[diesel(sql_type = BigInt)]
    pub queued: i64,
    #[diesel(sql_type = Nullable<diesel::sql_types::Double>)]
    pub oldest_s: Option<f64>,
}

/// The depth and oldest age at `now`.
pub async fn depth(conn: &mut AsyncPgConnection, now: DateTime<Utc>) -> diesel::QueryResult<Depth> {
    diesel::sql_query(
        "select count(*) as queued, \
           extract(epoch from $1 - min(created_at))::float8 as oldest_s from push_outbox",
    )
    .bind::<Timestamptz, _>(now)
    .get_result(conn)
    .await
}

/// The current names of `teams` and handles of `players` (what a notification shows).
pub async fn names(
    conn: &mut AsyncPgConnection,
    teams: &[TeamId],
    players: &[PlayerId],
) -> diesel::QueryResult<NameMap> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Bool)]
        team: bool,
        #[diesel(sql_type = SqlUuid)]
        id: uuid::Uuid,
        #[diesel(sql_type = Text)]
        name: String,
    }
    let rows: Vec<Row> = prepared(
        diesel::sql_query(
            "select true as team, id, name from teams where id = any($1) \
             union all select false, id, handle from players where id = any($2)",
        )
        .bind::<Array<SqlUuid>, _>(teams.iter().map(|t| t.0).collect::<Vec<_>>())
        .bind::<Array<SqlUuid>, _>(players.iter().map(|p| p.0).collect::<Vec<_>>()),
    )
    .load(conn)
    .await?;
    let mut names = NameMap::default();
    for r in rows {
        if r.team {
            names.teams.insert(TeamId(r.id), r.name);
        } else {
            names.players.insert(PlayerId(r.id), r.name);
        }
    }
    Ok(names)
}
