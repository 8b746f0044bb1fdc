//! The event log: append in the caller's transaction, number committed events (the sequencer), read by offset.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::domain::event::{Audience, Event, EventData, NewEvent, Viewer};
use crate::domain::ids::{HuntId, PlayerId, TeamId};

/// Appends events of a hunt, unnumbered; the sequencer numbers them after commit.
pub async fn append(
    conn: &mut AsyncPgConnection,
    hunt: HuntId,
    events: &[NewEvent],
) -> QueryResult<()> {
    let events: Vec<(HuntId, &NewEvent)> = events.iter().map(|e| (hunt, e)).collect();
    append_many(&*conn, &events).await
}

/// The SQL of [`Audience::admits`](crate::domain::event::Audience::admits): whether the event
/// row aliased `$e` (with its `team_id`, `player_id` and `staff_only` columns, as
/// [`Audience::columns`] wrote them) is visible to a viewer described by three SQL expressions:
/// whether they see everything (`$all`: staff, or the node itself), their team and their player
/// id (null when none). Tested against `admits` for every audience and viewer
/// (`tests/api/events.rs`).
macro_rules! visible {
    ($e:literal, $all:literal, $team:literal, $player:literal) => {
        concat!(
            "(",
            $all,
            " or ((",
            $e,
            "team_id is null or ",
            $e,
            "team_id = ",
            $team,
            ") and (",
            $e,
            "player_id is null or ",
            $e,
            "player_id = ",
            $player,
            ") and not ",
            $e,
            "staff_only))"
        )
    };
}
pub(crate) use visible;

/// Appends events of several hunts in one statement, in the order given (the sequencer numbers
/// them after commit in insertion order: ids are drawn in that order), with the audience and data
/// the domain decided, and records those [`EventData::pushable`] says may be pushed in
/// `push_jobs` in the same statement (so in the same transaction: a committed event's
/// notification is never lost).
pub async fn append_many(
    mut conn: &AsyncPgConnection,
    events: &[(HuntId, &NewEvent)],
) -> QueryResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    let n = events.len();
    let (mut hunts, mut kinds, mut teams, mut players, mut staff, mut data, mut push) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for (hunt, e) in events {
        let (team, player, staff_only) = e.audience.columns();
        hunts.push(hunt.0);
        kinds.push(e.data.kind().as_str());
        teams.push(team.map(|t| t.0));
        players.push(player.map(|p| p.0));
        staff.push(staff_only);
        data.push(e.data.stored());
        push.push(e.data.pushable());
    }
    super::prepared::prepared(diesel::sql_query(
        "with u as materialized ( \
             select nextval('events_id_seq') as id, o.* from ( \
                 select * from unnest($1::uuid[], $2::text[], $3::uuid[], $4::uuid[], $5::bool[], $6::jsonb[], $7::bool[]) \
                     with ordinality as u(h, k, t, p, s, d, push, n) order by n) o), \
         ev as (insert into events (id, hunt_id, kind, team_id, player_id, staff_only, data) \
             select id, h, k, t, p, s, d from u order by id returning id) \
         insert into push_jobs (event_id) select ev.id from ev join u on u.id = ev.id where u.push",
    )
    .bind::<Array<SqlUuid>, _>(hunts)
    .bind::<Array<Text>, _>(kinds)
    .bind::<Array<Nullable<SqlUuid>>, _>(teams)
    .bind::<Array<Nullable<SqlUuid>>, _>(players)
    .bind::<Array<Bool>, _>(staff)
    .bind::<Array<Jsonb>, _>(data)
    .bind::<Array<Bool>, _>(push))
    .execute(&mut conn)
    .await
    .map(drop)
}

/// Arbitrary constant naming the sequencer's advisory lock.
const SEQUENCER_LOCK: i64 = 0x6e65_6e75_6661_7202;

#[derive(QueryableByName)]
struct Numbered {
    #[diesel(sql_type = SqlUuid)]
    hunt_id: uuid::Uuid,
}

/// Numbers up to `batch` committed, unnumbered events in insertion order, if no other sequencer
/// holds the lock, and notifies `nenufar_events` once per hunt (delivered at commit). Returns the
/// hunts that got events. Must run inside a transaction (the lock is transaction-scoped).
pub async fn sequence(conn: &mut AsyncPgConnection, batch: i64) -> QueryResult<Vec<HuntId>> {
    #[derive(QueryableByName)]
    struct Locked {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        locked: bool,
    }
    let lock: Locked = diesel::sql_query(format!(
        "select pg_try_advisory_xact_lock({SEQUENCER_LOCK}) as locked"
    ))
    .get_result(conn)
    .await?;
    if !lock.locked {
        return Ok(Vec::new());
    }
    let rows: Vec<Numbered> = super::prepared::prepared(diesel::sql_query(
        "with batch as (select id from events where event_offset is null order by id limit $1), \
              numbered as (select id, nextval('events_offset_seq') as o from (select id from batch order by id) s) \
         update events e set event_offset = n.o from numbered n where e.id = n.id returning e.hunt_id",
    )
    .bind::<BigInt, _>(batch))
    .load(conn)
    .await?;
    let mut hunts: Vec<HuntId> = rows.into_iter().map(|r| HuntId(r.hunt_id)).collect();
    hunts.sort();
    hunts.dedup();
    for hunt in &hunts {
        super::prepared::prepared(
            diesel::sql_query("select pg_notify('nenufar_events', $1)")
                .bind::<Text, _>(hunt.to_string()),
        )
        .execute(conn)
        .await?;
    }
    Ok(hunts)
}

/// Whether events wait for a number (cheap: partial index).
pub async fn pending(conn: &mut AsyncPgConnection) -> QueryResult<bool> {
    diesel::select(diesel::dsl::sql::<diesel::sql_types::Bool>(
        "exists (select 1 from events where event_offset is null)",
    ))
    .get_result(conn)
    .await
}

#[derive(QueryableByName)]
struct EventRow {
    #[diesel(sql_type = BigInt)]
    event_offset: i64,
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    team_id: Option<uuid::Uuid>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    player_id: Option<uuid::Uuid>,
    #[diesel(sql_type = Bool)]
    staff_only: bool,
    #[diesel(sql_type = Jsonb)]
    data: serde_json::Value,
    #[diesel(sql_type = Timestamptz)]
    created_at: DateTime<Utc>,
}

/// Numbered events of a hunt after `after`, in offset order, at most `limit`, that `viewer` may
/// see (`None`: every event, for the node's own feed).
pub async fn read(
    conn: &mut AsyncPgConnection,
    hunt: HuntId,
    after: i64,
    limit: i64,
    viewer: Option<&Viewer>,
) -> QueryResult<Vec<Event>> {
    Ok(read_timed(conn, hunt, after, limit, viewer)
        .await?
        .into_iter()
        .map(|(e, _)| e)
        .collect())
}

/// As [`read`], each event with its row's `created_at` (the appending transaction's `now()`): the
/// feeds measure their delivery lag from it.
pub async fn read_timed(
    conn: &mut AsyncPgConnection,
    hunt: HuntId,
    after: i64,
    limit: i64,
    viewer: Option<&Viewer>,
) -> QueryResult<Vec<(Event, DateTime<Utc>)>> {
    let (all, team, player) = match viewer {
        None | Some(Viewer::Staff) => (true, None, None),
        Some(Viewer::Player { player, team }) => (false, team.map(|t| t.0), Some(player.0)),
    };
    let rows: Vec<EventRow> = super::prepared::prepared(
        diesel::sql_query(concat!(
            "select event_offset, kind, team_id, player_id, staff_only, data, created_at from events \
             where hunt_id = $1 and event_offset is not null and event_offset > $2 and ",
            visible!("", "$4", "$5", "$6"),
            " order by event_offset limit $3"
        ))
        .bind::<SqlUuid, _>(hunt.0)
        .bind::<BigInt, _>(after)
        .bind::<BigInt, _>(limit)
        .bind::<Bool, _>(all)
        .bind::<Nullable<SqlUuid>, _>(team)
        .bind::<Nullable<SqlUuid>, _>(player),
    )
    .load(conn)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let data = match EventData::from_stored(&r.kind, r.data) {
                Ok(data) => data,
                Err(e) => {
                    // Skipped, not fatal: one bad row must not stop a hunt's feed.
                    tracing::error!(hunt_id = %hunt, offset = r.event_offset, error = %e, "unreadable event skipped");
                    return None;
                }
            };
            let event = Event {
                offset: r.event_offset,
                hunt,
                audience: Audience::from_columns(
                    r.team_id.map(TeamId),
                    r.player_id.map(PlayerId),
                    r.staff_only,
                ),
                data,
            };
            Some((event, r.created_at))
        })
        .collect())
}
