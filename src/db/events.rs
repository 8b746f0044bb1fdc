//! The event log: append in the caller's transaction, number committed events (the sequencer), read by offset.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Jsonb, Nullable, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::domain::event::{Event, EventKind, NewEvent};
use crate::domain::ids::{HuntId, TeamId};

/// Appends events of a hunt, unnumbered; the sequencer numbers them after commit.
pub async fn append(
    conn: &mut AsyncPgConnection,
    hunt: HuntId,
    events: &[NewEvent],
) -> QueryResult<()> {
    let events: Vec<(HuntId, &NewEvent)> = events.iter().map(|e| (hunt, e)).collect();
    append_many(&*conn, &events).await
}

/// The events that may be pushed (`push_jobs`, expanded to devices by `db::push::expand`): an
/// SQL condition on `kind` and `data`.
macro_rules! pushable {
    () => {
        "(kind in ('target_found', 'clue_revealed', 'broadcast') \
          or (kind = 'phase_changed' and data ->> 'phase' in ('live', 'ended')) \
          or (kind = 'score_changed' and (data ->> 'delta')::bigint > 0))"
    };
}

/// Appends events of several hunts in one statement, in the order given (the sequencer numbers
/// them after commit in insertion order), and records those that may be pushed in `push_jobs` in
/// the same statement (so in the same transaction: a committed event's notification is never
/// lost).
pub async fn append_many(
    mut conn: &AsyncPgConnection,
    events: &[(HuntId, &NewEvent)],
) -> QueryResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    let hunts: Vec<uuid::Uuid> = events.iter().map(|(h, _)| h.0).collect();
    let kinds: Vec<&str> = events.iter().map(|(_, e)| e.kind.as_str()).collect();
    let teams: Vec<Option<uuid::Uuid>> = events.iter().map(|(_, e)| e.team.map(|t| t.0)).collect();
    let data: Vec<&serde_json::Value> = events.iter().map(|(_, e)| &e.data).collect();
    super::cached::cached(diesel::sql_query(concat!(
        "with ev as (insert into events (hunt_id, kind, team_id, data) \
         select h, k, t, d from unnest($1::uuid[], $2::text[], $3::uuid[], $4::jsonb[]) with ordinality as u(h, k, t, d, n) order by n \
         returning id, kind, data) \
         insert into push_jobs (event_id) select id from ev where ",
        pushable!()
    ))
    .bind::<diesel::sql_types::Array<SqlUuid>, _>(hunts)
    .bind::<diesel::sql_types::Array<Text>, _>(kinds)
    .bind::<diesel::sql_types::Array<Nullable<SqlUuid>>, _>(teams)
    .bind::<diesel::sql_types::Array<Jsonb>, _>(data))
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
    let rows: Vec<Numbered> = super::cached::cached(diesel::sql_query(
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
        super::cached::cached(
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
    #[diesel(sql_type = Jsonb)]
    data: serde_json::Value,
}

/// Numbered events of a hunt after `after`, in offset order, at most `limit`; `team` filters to
/// what a member of that team may see (`None` filter: all events, for the node's own use).
pub async fn read(
    conn: &mut AsyncPgConnection,
    hunt: HuntId,
    after: i64,
    limit: i64,
    visible_to: Option<Option<TeamId>>,
) -> QueryResult<Vec<Event>> {
    let (filter, team) = match visible_to {
        None => (false, None),
        Some(team) => (true, team.map(|t| t.0)),
    };
    let rows: Vec<EventRow> = super::cached::cached(
        diesel::sql_query(
            "select event_offset, kind, team_id, data from events \
         where hunt_id = $1 and event_offset is not null and event_offset > $2 \
           and (not $4 or team_id is null or team_id = $5) \
         order by event_offset limit $3",
        )
        .bind::<SqlUuid, _>(hunt.0)
        .bind::<BigInt, _>(after)
        .bind::<BigInt, _>(limit)
        .bind::<diesel::sql_types::Bool, _>(filter)
        .bind::<Nullable<SqlUuid>, _>(team),
    )
    .load(conn)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            Some(Event {
                offset: r.event_offset,
                hunt,
                kind: EventKind::parse(&r.kind)?,
                team: r.team_id.map(TeamId),
                data: r.data,
            })
        })
        .collect())
}
