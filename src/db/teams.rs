//! Teams and memberships: creation, seats under the size cap, invite codes, progress.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::schema::{finds, targets, team_members, teams};
use crate::domain::ids::{HuntId, PlayerId, TargetId, TeamId};
use crate::domain::name::{Name, key_of};

/// Inserts a team with no member yet; a name whose look-alike key another team of the hunt has
/// is a unique violation of `teams_hunt_name_key`.
pub async fn insert(
    conn: &mut AsyncPgConnection,
    id: TeamId,
    hunt: HuntId,
    name: &Name,
    invite_code: &str,
    captain: PlayerId,
) -> QueryResult<()> {
    diesel::insert_into(teams::table)
        .values((
            teams::id.eq(id.0),
            teams::hunt_id.eq(hunt.0),
            teams::name.eq(name.as_str()),
            teams::name_key.eq(name.key()),
            teams::invite_code.eq(invite_code),
            teams::captain_id.eq(captain.0),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// Gives every team stored before look-alike keys existed its key, oldest first; a team whose
/// key an older team of its hunt already holds keeps its name with a key of its own (suffixed
/// with its id), so the older one keeps the name and new teams cannot copy either. Returns how
/// many teams it keyed.
pub async fn backfill_name_keys(conn: &mut AsyncPgConnection) -> QueryResult<usize> {
    let legacy: Vec<(uuid::Uuid, uuid::Uuid, String)> = teams::table
        .filter(teams::name_key.is_null())
        .order((teams::created_at, teams::id))
        .select((teams::id, teams::hunt_id, teams::name))
        .load(conn)
        .await?;
    for (id, hunt, name) in &legacy {
        let key = key_of(name);
        let taken: bool = diesel::select(diesel::dsl::exists(
            teams::table
                .filter(teams::hunt_id.eq(hunt))
                .filter(teams::name_key.eq(&key)),
        ))
        .get_result(conn)
        .await?;
        let key = if taken { format!("{key} #{id}") } else { key };
        diesel::update(teams::table.find(id))
            .set(teams::name_key.eq(key))
            .execute(conn)
            .await?;
    }
    Ok(legacy.len())
}

/// Takes one seat if the team has fewer than `max` members; false when it is full.
pub async fn claim_seat(conn: &mut AsyncPgConnection, team: TeamId, max: i32) -> QueryResult<bool> {
    let n = diesel::update(
        teams::table
            .find(team.0)
            .filter(teams::member_count.lt(max)),
    )
    .set(teams::member_count.eq(teams::member_count + 1))
    .execute(conn)
    .await?;
    Ok(n == 1)
}

/// Adds a member; fails with a unique violation when the player already has a team in the hunt.
pub async fn add_member(
    conn: &mut AsyncPgConnection,
    hunt: HuntId,
    team: TeamId,
    player: PlayerId,
) -> QueryResult<()> {
    diesel::insert_into(team_members::table)
        .values((
            team_members::hunt_id.eq(hunt.0),
            team_members::team_id.eq(team.0),
            team_members::player_id.eq(player.0),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// The team and hunt an invite code opens.
pub async fn by_invite_code(
    conn: &mut AsyncPgConnection,
    code: &str,
) -> QueryResult<Option<(TeamId, HuntId)>> {
    let row: Option<(uuid::Uuid, uuid::Uuid)> = teams::table
        .filter(teams::invite_code.eq(code))
        .select((teams::id, teams::hunt_id))
        .first(conn)
        .await
        .optional()?;
    Ok(row.map(|(t, h)| (TeamId(t), HuntId(h))))
}

/// The player's team in a hunt.
pub async fn membership(
    conn: &mut AsyncPgConnection,
    hunt: HuntId,
    player: PlayerId,
) -> QueryResult<Option<TeamId>> {
    let row: Option<uuid::Uuid> = team_members::table
        .find((hunt.0, player.0))
        .select(team_members::team_id)
        .first(conn)
        .await
        .optional()?;
    Ok(row.map(TeamId))
}

/// A found target as the team sees it.
#[derive(Debug, Clone)]
pub struct FoundTarget {
    pub id: TargetId,
    pub name: String,
    pub points: i32,
    pub found_at: DateTime<Utc>,
}

/// A team's name, score, member count and finds (oldest first).
pub async fn progress(
    conn: &mut AsyncPgConnection,
    team: TeamId,
) -> QueryResult<(String, i64, i32, Vec<FoundTarget>)> {
    let (name, score, members): (String, i64, i32) = teams::table
        .find(team.0)
        .select((teams::name, teams::score, teams::member_count))
        .first(conn)
        .await?;
    let rows: Vec<(uuid::Uuid, String, i32, DateTime<Utc>)> = finds::table
        .inner_join(targets::table.on(targets::id.eq(finds::target_id)))
        .filter(finds::team_id.eq(team.0))
        .order((finds::found_at, finds::target_id))
        .select((
            finds::target_id,
            targets::name,
            finds::points,
            finds::found_at,
        ))
        .load(conn)
        .await?;
    let found = rows
        .into_iter()
        .map(|(id, name, points, found_at)| FoundTarget {
            id: TargetId(id),
            name,
            points,
            found_at,
        })
        .collect();
    Ok((name, score, members, found))
}

/// Locks a team row for a score change; returns its score.
pub async fn lock_for_spending(conn: &mut AsyncPgConnection, team: TeamId) -> QueryResult<i64> {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        score: i64,
    }
    let r: Row = diesel::sql_query("select score from teams where id = $1 for no key update")
        .bind::<diesel::sql_types::Uuid, _>(team.0)
        .get_result(conn)
        .await?;
    Ok(r.score)
}

/// Adds `delta` to a team's score; returns the new score.
pub async fn add_score(conn: &mut AsyncPgConnection, team: TeamId, delta: i64) -> QueryResult<i64> {
    diesel::update(teams::table.find(team.0))
        .set(teams::score.eq(teams::score + delta))
        .returning(teams::score)
        .get_result(conn)
        .await
}

/// Whether `team` is a team of `hunt`.
pub async fn belongs_to(
    conn: &mut AsyncPgConnection,
    hunt: HuntId,
    team: TeamId,
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        teams::table.find(team.0).filter(teams::hunt_id.eq(hunt.0)),
    ))
    .get_result(conn)
    .await
}
