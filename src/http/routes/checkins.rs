//! `POST /v1/hunts/{hunt_id}/checkins`: the check-in endpoint, start of the main walk.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::checkin::{NotLiveReason, Verdict};
use crate::domain::geofence::AccuracyPolicy;
use crate::domain::ids::{HuntId, TargetId};
use crate::error::AppError;
use crate::http::AppState;
use crate::http::auth::{Caller, Players};
use crate::http::extract::{ApiJson, ApiPath};
use crate::http::openapi::core_types;
use crate::input::Input;
use crate::limits::addr::ClientAddr;
use crate::service;
use crate::service::checkin::{CheckinInput, CheckinResponse};
use crate::service::teams::player_of;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(check_in))
}

/// One position report and the client's idempotency key.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckinRequest {
    /// Degrees, [-90, 90].
    #[schema(minimum = -90.0, maximum = 90.0)]
    pub lat: f64,
    /// Degrees, [-180, 180].
    #[schema(minimum = -180.0, maximum = 180.0)]
    pub lon: f64,
    /// Radius of the fix's uncertainty (the platform's 68 % circle), metres, (0, 10000].
    #[schema(exclusive_minimum = 0.0, maximum = 10000.0)]
    pub accuracy_m: f64,
    /// When the device took the fix: at most 30 s ahead of the server clock and 10 min behind it
    /// (else 400 `invalid_fix`).
    pub captured_at: DateTime<Utc>,
    /// A UUID the client keeps for retries of this check-in.
    pub idempotency_key: uuid::Uuid,
}

impl Input for CheckinRequest {}

/// A target named in a verdict: never its position.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = VerdictTarget)]
pub struct VerdictTargetBody {
    #[schema(value_type = core_types::TargetId)]
    pub id: TargetId,
    pub name: String,
    pub points: i32,
}

/// The answer to a check-in; stored as sent, and sent again for a replayed key.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CheckinResponse)]
pub struct CheckinResponseBody {
    #[schema(value_type = core_types::Verdict)]
    pub verdict: Verdict,
    /// For `not_live` (and only then): why.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<core_types::NotLiveReason>, nullable = false)]
    pub reason: Option<NotLiveReason>,
    /// `found`: the targets this check-in found (their points were added); `already_found`: the
    /// targets here that the team already has. Empty otherwise.
    pub targets: Vec<VerdictTargetBody>,
    /// The fix's accuracy, metres, as judged.
    pub accuracy_m: f64,
    /// The hunt's accuracy policy.
    #[schema(value_type = core_types::AccuracyPolicy)]
    pub policy: AccuracyPolicy,
    /// The team's score after this check-in.
    pub team_score: i64,
}

impl From<CheckinResponse> for CheckinResponseBody {
    fn from(r: CheckinResponse) -> Self {
        Self {
            verdict: r.verdict,
            reason: r.reason,
            targets: r
                .targets
                .into_iter()
                .map(|t| VerdictTargetBody {
                    id: t.id,
                    name: t.name,
                    points: t.points,
                })
                .collect(),
            accuracy_m: r.accuracy_m,
            policy: r.policy,
            team_score: r.team_score,
        }
    }
}

/// Checks in: judges the fix against every target of the hunt. A replayed key returns the stored
/// response (and never counts against the check-in rate); the same key with a different body is
/// 409 `idempotency_key_reused`. Too many check-ins (per player in the hunt: the hunt's
/// `checkin_interval_s` and `checkin_burst` capped by the server's ceiling; per address) is 429
/// `rate_limited` with `Retry-After`, and nothing is stored.
#[utoipa::path(post, path = "/v1/hunts/{hunt_id}/checkins", tag = "checkins", security(("bearer" = ["player"])),
    params(("hunt_id" = uuid::Uuid, Path)), request_body = CheckinRequest,
    responses((status = 200, description = "The verdict (also for a replayed key: the stored answer).", body = CheckinResponseBody),
        (status = 400, description = "Also `invalid_fix`: a position, accuracy or `captured_at` out of range."),
        (status = 403, description = "Also `not_in_hunt`: the player has no team in this hunt."),
        (status = 409, description = "`idempotency_key_reused`: this key was used for a different check-in.")))]
async fn check_in(
    State(state): State<AppState>,
    caller: Caller<Players>,
    ApiPath(hunt): ApiPath<HuntId>,
    addr: ClientAddr,
    body: Result<ApiJson<CheckinRequest>, AppError>,
) -> Result<Json<CheckinResponseBody>, AppError> {
    let player = player_of(caller.principal)?;
    let ApiJson(req) = body.map_err(|e| match e {
        // JSON cannot say NaN or Infinity; a literal too large for a double is the one non-finite number it can carry.
        AppError::InvalidJson(m) if m.contains("number out of range") => {
            AppError::InvalidFix("numbers must be finite".into())
        }
        other => other,
    })?;
    let input = CheckinInput {
        lat: req.lat,
        lon: req.lon,
        accuracy_m: req.accuracy_m,
        captured_at: req.captured_at,
        idempotency_key: req.idempotency_key,
    };
    let answer = service::checkin::check_in(&state.ctx, hunt, player, addr.key(), input).await?;
    Ok(Json(answer.into()))
}
