//! Organisations: created from the CLI with their first owner.

use super::Ctx;
use super::auth::{create_staff, normalize_email};
use crate::db;
use crate::domain::account::Role;
use crate::domain::ids::OrgId;
use crate::error::AppError;
use crate::ids::RandomId;

/// Creates an organisation and its owner account; returns the organisation id.
pub async fn create_org(
    ctx: &Ctx,
    name: &str,
    owner_email: &str,
    owner_password: String,
) -> Result<OrgId, AppError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(AppError::invalid("name must have 1 to 200 characters"));
    }
    normalize_email(owner_email)?;
    let id = OrgId::new_random();
    db::accounts::insert_org(&mut *ctx.pool.get().await?, id, name).await?;
    create_staff(ctx, id, owner_email, owner_password, Role::Owner).await?;
    Ok(id)
}
