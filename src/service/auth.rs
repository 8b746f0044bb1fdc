//! Staff logins (hashed on the bounded pool of `passwords`, failed ones counted per account), bearer
//! tokens (random, stored as SHA-256), staff creation, player sign-up.

use base64::Engine;
use chrono::Duration;
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::Ctx;
use crate::db;
use crate::domain::account::{Principal, Role};
use crate::domain::ids::{OrgId, PlayerId, StaffId};
use crate::error::{AppError, is_unique_violation};
use crate::ids::RandomId;

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

/// The key failed logins of an e-mail are counted under (its normalised form's SHA-256).
fn login_key(email: &str) -> Vec<u8> {
    Sha256::digest(format!("login:{email}").as_bytes()).to_vec()
}

/// Staff login: a token for a valid e-mail and password; the same 401 for an unknown e-mail or a
/// wrong password. Failed logins are counted per e-mail in PostgreSQL (all nodes together): an
/// attempt is counted before its password is hashed, so an e-mail that used up its attempts in
/// the window gets 429 `rate_limited` without any hashing, whether or not the account exists.
/// A successful login starts the count again.
pub async fn login_staff(ctx: &Ctx, email: &str, password: String) -> Result<String, AppError> {
    let email = normalize_email(email).map_err(|_| AppError::Unauthenticated)?;
    let key = login_key(&email);
    let limits = &ctx.limits.config;
    let mut conn = ctx.pool.get().await?;
    if limits.enforced()
        && let Some(wait) = db::login_attempts::reserve(
            &mut conn,
            &key,
            limits.login_failures_per_account,
            limits.login_failure_window,
        )
        .await?
    {
        return Err(AppError::RateLimited {
            limiter: "login_failures_per_account",
            retry_after: wait,
        });
    }
    let staff = db::accounts::staff_by_email(&mut conn, &email).await?;
    // The connection goes back to the pool while the password is hashed.
    drop(conn);
    let judged = match &staff {
        // Spend the same work as a real check, so response times do not reveal which e-mails exist.
        None => ctx.passwords.spend(password).await.map(|()| false),
        Some(s) => {
            ctx.passwords
                .verify(password, s.password_hash.clone())
                .await
        }
    };
    let matches = match judged {
        Ok(m) => m,
        Err(e) => {
            // Not judged (the hashing queue was full): the attempt does not count.
            if limits.enforced() {
                let mut conn = ctx.pool.get().await?;
                db::login_attempts::give_back(&mut conn, &key).await?;
            }
            return Err(e);
        }
    };
    let Some(staff) = staff.filter(|_| matches) else {
        return Err(AppError::Unauthenticated);
    };
    let mut conn = ctx.pool.get().await?;
    if limits.enforced() {
        db::login_attempts::reset(&mut conn, &key).await?;
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
    let hash = ctx.passwords.hash(password).await?;
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

    /// What the database holds instead is checked by `tests/api/credentials.rs`.
    #[test]
    fn tokens_are_random_and_hash_to_32_bytes_unlike_their_text() {
        let (a, b) = (new_token("nfp_"), new_token("nfp_"));
        assert_ne!(a, b);
        assert_eq!(token_hash(&a).len(), 32);
        assert_ne!(token_hash(&a), a.as_bytes());
    }
}
