//! Staff accounts: login, and owners creating editors and game masters.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::account::{Principal, Role};
use crate::domain::ids::StaffId;
use crate::error::AppError;
use crate::http::AppState;
use crate::http::auth::{Caller, Owners};
use crate::http::extract::ApiJson;
use crate::http::openapi::core_types;
use crate::input::Input;
use crate::limits::addr::ClientAddr;
use crate::service;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(create_staff))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Any text: a wrong or malformed e-mail is the same 401 as a wrong password.
    pub email: String,
    pub password: String,
}

impl Input for LoginRequest {}

#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    /// Bearer token, valid 12 hours.
    #[schema(pattern = "^nfs_")]
    pub token: String,
}

/// Logs a staff member in. Attempts are limited per address and failed ones per e-mail (all
/// nodes together): 429 `rate_limited` with `Retry-After`, without checking the password.
#[utoipa::path(post, path = "/v1/staff/login", tag = "staff", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse),
        (status = 401, description = "`unauthenticated`: unknown e-mail or wrong password (the same answer for both).")))]
async fn login(
    State(state): State<AppState>,
    addr: ClientAddr,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Json<LoginResponse>, AppError> {
    state.ctx.limits.check_login(addr.key())?;
    let token = service::auth::login_staff(&state.ctx, &req.email, req.password).await?;
    Ok(Json(LoginResponse { token }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateStaffRequest {
    /// Stored trimmed and lower-cased: at most 320 characters, a non-empty part before the first
    /// `@` and a dot after it.
    #[schema(max_length = 320, pattern = r"^\s*[^@\s][^@]*@.*\.")]
    pub email: String,
    /// 8 to 256 characters.
    #[schema(min_length = 8, max_length = 256)]
    pub password: String,
    #[schema(value_type = core_types::Role)]
    pub role: Role,
}

impl Input for CreateStaffRequest {}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreateStaffResponse {
    #[schema(value_type = core_types::StaffId)]
    pub id: StaffId,
    pub email: String,
    #[schema(value_type = core_types::Role)]
    pub role: Role,
}

/// Creates a staff account in the caller's organisation (owners only). Account creations are
/// limited per address (429 `rate_limited`).
#[utoipa::path(post, path = "/v1/staff", tag = "staff", request_body = CreateStaffRequest, security(("bearer" = ["owner"])),
    responses((status = 201, body = CreateStaffResponse),
        (status = 409, description = "`email_taken`: a staff account has this e-mail.")))]
async fn create_staff(
    State(state): State<AppState>,
    caller: Caller<Owners>,
    addr: ClientAddr,
    ApiJson(req): ApiJson<CreateStaffRequest>,
) -> Result<(StatusCode, Json<CreateStaffResponse>), AppError> {
    let org = match caller.principal {
        Principal::Staff {
            org,
            role: Role::Owner,
            ..
        } => org,
        _ => return Err(AppError::Forbidden("owners only")),
    };
    state.ctx.limits.check_signup(addr.key())?;
    let id =
        service::auth::create_staff(&state.ctx, org, &req.email, req.password, req.role).await?;
    let email = service::auth::normalize_email(&req.email)?;
    Ok((
        StatusCode::CREATED,
        Json(CreateStaffResponse {
            id,
            email,
            role: req.role,
        }),
    ))
}
