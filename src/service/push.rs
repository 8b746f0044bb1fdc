//! Players' push use cases: the VAPID public key, subscribing a device, unsubscribing it, and
//! muting categories.

use diesel_async::AsyncConnection;

use super::Ctx;
use crate::db;
use crate::db::push::Preferences;
use crate::domain::account::Principal;
use crate::domain::ids::PlayerId;
use crate::domain::push::Category;
use crate::error::AppError;
use crate::push::subscription::{self, SubscriptionJson};

fn player(principal: Principal) -> Result<PlayerId, AppError> {
    match principal {
        Principal::Player { id } => Ok(id),
        Principal::Staff { .. } => Err(AppError::Forbidden("players only")),
    }
}

/// The key browsers pass as `applicationServerKey` (base64url, uncompressed P-256 point).
pub async fn public_key(ctx: &Ctx) -> Result<String, AppError> {
    let vapid = ctx.push.vapid(&ctx.pool).await?;
    Ok(vapid.public_key_b64().to_owned())
}

/// Stores the caller's device subscription; an endpoint already stored moves to the caller.
pub async fn subscribe(
    ctx: &Ctx,
    principal: Principal,
    json: &SubscriptionJson,
) -> Result<(), AppError> {
    let player = player(principal)?;
    let sub = subscription::validate(json, ctx.push.settings.allow_http_loopback)
        .map_err(|e| AppError::InvalidSubscription(e.to_string()))?;
    let mut conn = ctx.pool.get().await?;
    conn.transaction::<_, AppError, _>(async move |conn| {
        db::push::upsert_subscription(conn, player, &sub.endpoint, &sub.p256dh, &sub.auth).await?;
        Ok(())
    })
    .await
}

/// Deletes the caller's subscription for `endpoint`.
pub async fn unsubscribe(ctx: &Ctx, principal: Principal, endpoint: &str) -> Result<(), AppError> {
    let player = player(principal)?;
    let mut conn = ctx.pool.get().await?;
    if db::push::delete_subscription(&mut conn, player, endpoint).await? {
        Ok(())
    } else {
        Err(AppError::NotFound("subscription"))
    }
}

/// Replaces the caller's preferences.
pub async fn set_preferences(
    ctx: &Ctx,
    principal: Principal,
    muted: &[String],
    also_when_connected: bool,
) -> Result<Preferences, AppError> {
    let player = player(principal)?;
    let mut names = Vec::with_capacity(muted.len());
    for (i, m) in muted.iter().enumerate() {
        let c = Category::parse(m).ok_or_else(|| {
            AppError::invalid_field(
                &format!("/muted/{i}"),
                format!("unknown category {m:?} (known: clue, find, rank, phase, broadcast)"),
            )
        })?;
        names.push(c.as_str().to_owned());
    }
    names.sort();
    names.dedup();
    let prefs = Preferences {
        muted: names,
        also_when_connected,
    };
    let mut conn = ctx.pool.get().await?;
    db::push::set_preferences(&mut conn, player, &prefs).await?;
    Ok(prefs)
}

pub async fn preferences(ctx: &Ctx, principal: Principal) -> Result<Preferences, AppError> {
    let player = player(principal)?;
    let mut conn = ctx.pool.get().await?;
    Ok(db::push::preferences(&mut conn, player).await?)
}

/// The outbox depth (all nodes), or `None` when it cannot be read now.
pub async fn queue_depth(ctx: &Ctx) -> Option<db::push_outbox::Depth> {
    let mut conn = ctx.pool.get().await.ok()?;
    db::push_outbox::depth(&mut conn, ctx.clock.now())
        .await
        .ok()
}
