//! Passwords (argon2), bearer tokens (random, stored as SHA-256), logins, staff creation, player sign-up.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use chrono::Duration;
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::Ctx;
use crate::db;
use crate::domain::account::{Principal, Role};
use crate::domain::ids::{OrgId, PlayerId, StaffId};
use crate::error::{AppError, is_unique_violation};

/// How long a staff token lives.
pub const STAFF_TOKEN_TTL: Duration = Duration::hours(12);
/// How long a player token lives.
pub const PLAYER_TOKEN_TTL: Duration = Duration::days(90);
/// Shortest accepted staff password, characters.
pub const MIN_PASSWORD_CHARS: usize = 8;

/// SHA-256 of a bearer token: what the database stores and looks up.
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

fn new_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// Hashes a password with argon2id off the async threads.
pub async fn hash_password(password: String) -> Result<String, AppError> {
    tokio::task::spawn_blocking(move || {
        let mut salt = [0u8; 16];
        rand::rng().fill_bytes(&mut salt);
        let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))?
    .map_err(AppError::Internal)
}

async fn verify_password(password: String, hash: String) -> Result<bool, AppError> {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash).map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))?
    .map_err(|e| AppError::Internal(anyhow::anyhow!("stored password hash: {e}")))
}

/// Checks an e-mail's shape and lower-cases it.
pub fn normalize_email(email: &str) -> Result<String, AppError> {
    let email = email.trim().to_lowercase();
    let valid = email.len() <= 320
        && email
            .split_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && d.contains('.'));
    if valid {
        Ok(email)
    } else {
        Err(AppError::invalid_field(
            "/email",
            "must look like name@example.org",
        ))
    }
}

fn check_password(password: &str) -> Result<(), AppError> {
    let n = password.chars().count();
    if (MIN_PASSWORD_CHARS..=256).contains(&n) {
        Ok(())
    } else {
        Err(AppError::invalid_field(
            "/password",
            format!("must have {MIN_PASSWORD_CHARS} to 256 characters"),
        ))
    }
}

/// Staff login: a token for a valid e-mail and password; the same 401 for an unknown e-mail or a wrong password.
pub async fn login_staff(ctx: &Ctx, email: &str, password: String) -> Result<String, AppError> {
    let email = normalize_email(email).map_err(|_| AppError::Unauthenticated)?;
    let mut conn = ctx.pool.get().await?;
    let Some(staff) = db::accounts::staff_by_email(&mut conn, &email).await? else {
        // Spend the same time as a real check, so response times do not reveal which e-mails exist.
        let _ = hash_password(password).await;
        return Err(AppError::Unauthenticated);
    };
    if !verify_password(password, staff.password_hash).await? {
        return Err(AppError::Unauthenticated);
    }
    let token = new_token("nfs_");
    let principal = Principal::Staff {
        id: staff.id,
        org: staff.org,
        role: staff.role,
    };
    db::accounts::insert_token(
        &mut conn,
        &token_hash(&token),
        principal,
        ctx.clock.now() + STAFF_TOKEN_TTL,
    )
    .await?;
    Ok(token)
}

/// Creates a staff account in `org`.
pub async fn create_staff(
    ctx: &Ctx,
    org: OrgId,
    email: &str,
    password: String,
    role: Role,
) -> Result<StaffId, AppError> {
    let email = normalize_email(email)?;
    check_password(&password)?;
    let hash = hash_password(password).await?;
    let id = StaffId::new_random();
    let mut conn = ctx.pool.get().await?;
    match db::accounts::insert_staff(&mut conn, id, org, &email, &hash, role).await {
        Ok(()) => Ok(id),
        Err(e) if is_unique_violation(&e, Some("staff_email_key")) => Err(AppError::conflict(
            "email_taken",
            "a staff account with this email exists",
        )),
        Err(e) => Err(e.into()),
    }
}

/// Checks a handle: 1 to 32 of `[A-Za-z0-9_.-]`.
pub fn validate_handle(handle: &str) -> Result<(), AppError> {
    let ok = (1..=32).contains(&handle.len())
        && handle
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(AppError::invalid_field(
            "/handle",
            "must be 1 to 32 characters of A-Z a-z 0-9 _ . -",
        ))
    }
}

/// Registers a player and returns its id and token.
pub async fn register_player(ctx: &Ctx, handle: &str) -> Result<(PlayerId, String), AppError> {
    validate_handle(handle)?;
    let id = PlayerId::new_random();
    let token = new_token("nfp_");
    let mut conn = ctx.pool.get().await?;
    let expires_at = ctx.clock.now() + PLAYER_TOKEN_TTL;
    let hash = token_hash(&token);
    let result = diesel_async::AsyncConnection::transaction::<_, diesel::result::Error, _>(
        &mut *conn,
        async move |conn| {
            db::accounts::insert_player(conn, id, handle).await?;
            db::accounts::insert_token(conn, &hash, Principal::Player { id }, expires_at).await
        },
    )
    .await;
    match result {
        Ok(()) => Ok((id, token)),
        Err(e) if is_unique_violation(&e, Some("players_handle_key")) => {
            Err(AppError::conflict("handle_taken", "this handle is taken"))
        }
        Err(e) => Err(e.into()),
    }
}

/// Who holds this bearer token.
/// Answers from this node's token cache when it can (see `token_cache`).
pub async fn authenticate(ctx: &Ctx, token: &str) -> Result<Principal, AppError> {
    let now = ctx.clock.now();
    let hash = token_hash(token);
    if let Some(principal) = ctx.tokens.get(&hash, now) {
        return Ok(principal);
    }
    let mut conn = ctx.pool.get().await?;
    let (principal, expires_at) = db::accounts::principal_for_token(&mut conn, &hash, now)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    ctx.tokens.put(hash, principal, now, expires_at);
    Ok(principal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_follow_the_contract() {
        assert!(validate_handle("ana_b.c-1").is_ok());
        assert!(validate_handle("").is_err());
        assert!(validate_handle(&"a".repeat(33)).is_err());
        assert!(validate_handle("émile").is_err());
        assert!(validate_handle("a b").is_err());
    }

    #[test]
    fn tokens_are_random_and_stored_only_as_hashes() {
        let (a, b) = (new_token("nfp_"), new_token("nfp_"));
        assert_ne!(a, b);
        assert_eq!(token_hash(&a).len(), 32);
        assert_ne!(token_hash(&a), a.as_bytes());
    }
}
