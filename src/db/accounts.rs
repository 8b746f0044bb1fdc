//! Organisations, staff, players and access tokens.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::schema::{access_tokens, organisations, players, staff};
use crate::domain::account::{Principal, Role};
use crate::domain::ids::{OrgId, PlayerId, StaffId};

/// Inserts an organisation.
pub async fn insert_org(conn: &mut AsyncPgConnection, id: OrgId, name: &str) -> QueryResult<()> {
    diesel::insert_into(organisations::table)
        .values((organisations::id.eq(id.0), organisations::name.eq(name)))
        .execute(conn)
        .await
        .map(drop)
}

/// A staff account as login needs it.
#[derive(Debug, Clone)]
pub struct StaffLogin {
    pub id: StaffId,
    pub org: OrgId,
    pub role: Role,
    pub password_hash: String,
}

/// Inserts a staff account; fails with a unique violation on `staff_email_key`.
pub async fn insert_staff(
    conn: &mut AsyncPgConnection,
    id: StaffId,
    org: OrgId,
    email: &str,
    password_hash: &str,
    role: Role,
) -> QueryResult<()> {
    diesel::insert_into(staff::table)
        .values((
            staff::id.eq(id.0),
            staff::org_id.eq(org.0),
            staff::email.eq(email),
            staff::password_hash.eq(password_hash),
            staff::role.eq(role.as_str()),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// The staff account with this e-mail; e-mails are stored lower-cased by the service.
pub async fn staff_by_email(
    conn: &mut AsyncPgConnection,
    email: &str,
) -> QueryResult<Option<StaffLogin>> {
    let row: Option<(uuid::Uuid, uuid::Uuid, String, String)> = staff::table
        .filter(staff::email.eq(email))
        .select((staff::id, staff::org_id, staff::role, staff::password_hash))
        .first(conn)
        .await
        .optional()?;
    Ok(row.and_then(|(id, org, role, password_hash)| {
        Some(StaffLogin {
            id: StaffId(id),
            org: OrgId(org),
            role: Role::parse(&role)?,
            password_hash,
        })
    }))
}

/// Inserts a player; fails with a unique violation on `players_handle_key`.
pub async fn insert_player(
    conn: &mut AsyncPgConnection,
    id: PlayerId,
    handle: &str,
) -> QueryResult<()> {
    diesel::insert_into(players::table)
        .values((players::id.eq(id.0), players::handle.eq(handle)))
        .execute(conn)
        .await
        .map(drop)
}

/// Stores a token's hash for `principal` until `expires_at`.
pub async fn insert_token(
    conn: &mut AsyncPgConnection,
    token_hash: &[u8],
    principal: Principal,
    expires_at: DateTime<Utc>,
) -> QueryResult<()> {
    let (staff_id, player_id) = match principal {
        Principal::Staff { id, .. } => (Some(id.0), None),
        Principal::Player { id } => (None, Some(id.0)),
    };
    diesel::insert_into(access_tokens::table)
        .values((
            access_tokens::token_hash.eq(token_hash),
            access_tokens::staff_id.eq(staff_id),
            access_tokens::player_id.eq(player_id),
            access_tokens::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// Who holds the token with this hash and until when, if it exists and has not expired at `now`.
pub async fn principal_for_token(
    conn: &mut AsyncPgConnection,
    token_hash: &[u8],
    now: DateTime<Utc>,
) -> QueryResult<Option<(Principal, DateTime<Utc>)>> {
    type Holder = (
        Option<uuid::Uuid>,
        Option<uuid::Uuid>,
        Option<uuid::Uuid>,
        Option<String>,
        DateTime<Utc>,
    );
    let row: Option<Holder> = access_tokens::table
        .left_join(staff::table)
        .filter(access_tokens::token_hash.eq(token_hash))
        .filter(access_tokens::expires_at.gt(now))
        .select((
            access_tokens::player_id,
            staff::id.nullable(),
            staff::org_id.nullable(),
            staff::role.nullable(),
            access_tokens::expires_at,
        ))
        .first(conn)
        .await
        .optional()?;
    Ok(match row {
        Some((Some(player), _, _, _, until)) => Some((
            Principal::Player {
                id: PlayerId(player),
            },
            until,
        )),
        Some((None, Some(id), Some(org), Some(role), until)) => Role::parse(&role).map(|role| {
            (
                Principal::Staff {
                    id: StaffId(id),
                    org: OrgId(org),
                    role,
                },
                until,
            )
        }),
        _ => None,
    })
}

/// A player's handle.
pub async fn player_handle(
    conn: &mut AsyncPgConnection,
    id: PlayerId,
) -> QueryResult<Option<String>> {
    players::table
        .find(id.0)
        .select(players::handle)
        .first(conn)
        .await
        .optional()
}
