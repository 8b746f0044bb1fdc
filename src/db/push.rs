//! Push tables of players' devices: the VAPID key, subscriptions, preferences, live presence.
//! The notifications queued for them are in `push_outbox`.

use diesel::QueryableByName;
use diesel::sql_types::{Array, BigInt, Bool, Bytea, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::prepared::prepared;
use crate::domain::ids::PlayerId;

#[derive(QueryableByName)]
struct KeyRow {
    #[diesel(sql_type = Bytea)]
    private_key: Vec<u8>,
}

/// The deployment's VAPID private key: `fresh` (private, public) is stored unless a key exists,
/// then the stored one is read, so nodes starting together end with one key.
pub async fn vapid_key(
    conn: &mut AsyncPgConnection,
    fresh: (Vec<u8>, Vec<u8>),
) -> diesel::QueryResult<Vec<u8>> {
    diesel::sql_query(
        "insert into vapid_keys (id, private_key, public_key) values (1, $1, $2) \
         on conflict (id) do nothing",
    )
    .bind::<Bytea, _>(fresh.0)
    .bind::<Bytea, _>(fresh.1)
    .execute(conn)
    .await?;
    let row: KeyRow = diesel::sql_query("select private_key from vapid_keys where id = 1")
        .get_result(conn)
        .await?;
    Ok(row.private_key)
}

#[derive(QueryableByName)]
struct Owner {
    #[diesel(sql_type = SqlUuid)]
    player_id: uuid::Uuid,
}

/// Stores a subscription for `player`, or moves an existing endpoint to them (with new keys).
/// Returns the previous owner when it was someone else: their undelivered notifications for this
/// device are then deleted, so a device never receives another player's news.
pub async fn upsert_subscription(
    conn: &mut AsyncPgConnection,
    player: PlayerId,
    endpoint: &str,
    p256dh: &[u8],
    auth: &[u8],
) -> diesel::QueryResult<Option<PlayerId>> {
    let before: Option<Owner> = diesel::sql_query(
        "select player_id from push_subscriptions where endpoint = $1 for update",
    )
    .bind::<Text, _>(endpoint)
    .get_result(conn)
    .await
    .map(Some)
    .or_else(|e| match e {
        diesel::result::Error::NotFound => Ok(None),
        e => Err(e),
    })?;
    diesel::sql_query(
        "insert into push_subscriptions (endpoint, player_id, p256dh, auth) values ($1, $2, $3, $4) \
         on conflict (endpoint) do update set player_id = excluded.player_id, \
           p256dh = excluded.p256dh, auth = excluded.auth, updated_at = now()",
    )
    .bind::<Text, _>(endpoint)
    .bind::<SqlUuid, _>(player.0)
    .bind::<Bytea, _>(p256dh)
    .bind::<Bytea, _>(auth)
    .execute(conn)
    .await?;
    let moved = before
        .map(|b| PlayerId(b.player_id))
        .filter(|p| *p != player);
    if moved.is_some() {
        diesel::sql_query(
            "delete from push_outbox where subscription_id = \
             (select id from push_subscriptions where endpoint = $1)",
        )
        .bind::<Text, _>(endpoint)
        .execute(conn)
        .await?;
    }
    Ok(moved)
}

/// Deletes `player`'s subscription with this endpoint (and its queued notifications); false if
/// they have none.
pub async fn delete_subscription(
    conn: &mut AsyncPgConnection,
    player: PlayerId,
    endpoint: &str,
) -> diesel::QueryResult<bool> {
    let n =
        diesel::sql_query("delete from push_subscriptions where endpoint = $1 and player_id = $2")
            .bind::<Text, _>(endpoint)
            .bind::<SqlUuid, _>(player.0)
            .execute(conn)
            .await?;
    Ok(n > 0)
}

/// A player's push preferences.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct Preferences {
    #[diesel(sql_type = Array<Text>)]
    pub muted: Vec<String>,
    #[diesel(sql_type = Bool)]
    pub also_when_connected: bool,
}

pub async fn set_preferences(
    conn: &mut AsyncPgConnection,
    player: PlayerId,
    prefs: &Preferences,
) -> diesel::QueryResult<()> {
    diesel::sql_query(
        "insert into push_preferences (player_id, muted, also_when_connected) values ($1, $2, $3) \
         on conflict (player_id) do update set muted = excluded.muted, \
           also_when_connected = excluded.also_when_connected, updated_at = now()",
    )
    .bind::<SqlUuid, _>(player.0)
    .bind::<Array<Text>, _>(&prefs.muted)
    .bind::<Bool, _>(prefs.also_when_connected)
    .execute(conn)
    .await
    .map(drop)
}

pub async fn preferences(
    conn: &mut AsyncPgConnection,
    player: PlayerId,
) -> diesel::QueryResult<Preferences> {
    let found: Vec<Preferences> = diesel::sql_query(
        "select muted, also_when_connected from push_preferences where player_id = $1",
    )
    .bind::<SqlUuid, _>(player.0)
    .load(conn)
    .await?;
    Ok(found.into_iter().next().unwrap_or(Preferences {
        muted: Vec::new(),
        also_when_connected: false,
    }))
}

/// Marks `players` as holding a live WebSocket on `node` now.
pub async fn present(
    conn: &mut AsyncPgConnection,
    node: uuid::Uuid,
    players: &[uuid::Uuid],
) -> diesel::QueryResult<()> {
    if players.is_empty() {
        return Ok(());
    }
    prepared(
        diesel::sql_query(
            "insert into push_presence (player_id, node_id, seen_at) \
             select p, $1, now() from unnest($2::uuid[]) p \
             on conflict (player_id, node_id) do update set seen_at = now()",
        )
        .bind::<SqlUuid, _>(node)
        .bind::<Array<SqlUuid>, _>(players),
    )
    .execute(conn)
    .await
    .map(drop)
}

/// Forgets `node`'s presence rows for `players`, and those it has not refreshed for 30 s (two
/// missed heartbeats: players whose delete failed).
pub async fn absent(
    conn: &mut AsyncPgConnection,
    node: uuid::Uuid,
    players: &[uuid::Uuid],
) -> diesel::QueryResult<()> {
    prepared(
        diesel::sql_query(
            "delete from push_presence where node_id = $1 \
             and (player_id = any($2::uuid[]) or seen_at < now() - interval '30 seconds')",
        )
        .bind::<SqlUuid, _>(node)
        .bind::<Array<SqlUuid>, _>(players),
    )
    .execute(conn)
    .await
    .map(drop)
}

/// Deletes subscriptions the push service says are gone (their queued notifications go too).
pub async fn prune(conn: &mut AsyncPgConnection, subscriptions: &[i64]) -> diesel::QueryResult<()> {
    if subscriptions.is_empty() {
        return Ok(());
    }
    prepared(
        diesel::sql_query("delete from push_subscriptions where id = any($1)")
            .bind::<Array<BigInt>, _>(subscriptions),
    )
    .execute(conn)
    .await
    .map(drop)
}
