//! `check_in`: the main walk. Validate, gate, ask the index, hand the judged check-in to the
//! group-commit writer (`checkin_writer`), answer with an explainable verdict that never reveals a
//! hidden position.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::Ctx;
use super::checkin_writer::{Pending, Written};
use crate::db;
use crate::domain::checkin::{self, Admitted, Fix, Gate, NotLiveReason, Verdict};
use crate::domain::geofence::AccuracyPolicy;
use crate::domain::hunt::HuntGate;
use crate::domain::ids::{CheckinId, HuntId, PlayerId, TargetId, TeamId};
use crate::error::AppError;
use crate::ids::RandomId;
use crate::limits::addr::AddrKey;
use crate::limits::config::Rate;
use crate::telemetry::Metrics;

/// A check-in as the client sent it (validated here, not by serde).
#[derive(Debug, Clone, Copy)]
pub struct CheckinInput {
    pub lat: f64,
    pub lon: f64,
    pub accuracy_m: f64,
    pub captured_at: DateTime<Utc>,
    pub idempotency_key: uuid::Uuid,
}

impl CheckinInput {
    /// What makes two requests "the same request" for an idempotency key.
    fn hash(&self, hunt: HuntId) -> Vec<u8> {
        let canonical = format!(
            "{}|{:?}|{:?}|{:?}|{}",
            hunt,
            self.lat,
            self.lon,
            self.accuracy_m,
            self.captured_at
                .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
        );
        Sha256::digest(canonical.as_bytes()).to_vec()
    }
}

/// A target named in a verdict: never its position.
#[derive(Debug, Clone, PartialEq)]
pub struct VerdictTarget {
    pub id: TargetId,
    pub name: String,
    pub points: i32,
}

/// The answer to a check-in; stored (`checkin_stored`, in its own versioned format), and given
/// again for a replayed key. The API's shape of it is `http::routes::checkins::CheckinResponseBody`.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckinResponse {
    pub verdict: Verdict,
    /// For `not_live` (and only then): why.
    pub reason: Option<NotLiveReason>,
    /// `found`: the targets this check-in found (their points were added); `already_found`: the
    /// targets here that the team already has. Empty otherwise.
    pub targets: Vec<VerdictTarget>,
    /// The fix's accuracy, metres, as judged.
    pub accuracy_m: f64,
    /// The hunt's accuracy policy.
    pub policy: AccuracyPolicy,
    /// The team's score after this check-in.
    pub team_score: i64,
}

/// Times a check-in is judged again because its hunt changed while it waited for the writer.
const JUDGE_ATTEMPTS: usize = 4;

/// Judges and records a check-in. See DESIGN section 4 for the order of decisions. The hunt's gate
/// and the player's team come from this node's memory; the writer checks at commit that the hunt
/// did not change meanwhile (or the check-in is judged again).
///
/// Rate: a valid check-in takes one cell per player in the hunt (the hunt's `checkin_interval_s`
/// and `checkin_burst`, capped by the server ceiling) and one per client address. A refused one
/// reads its key (one read, refused requests only): a stored key replays, otherwise 429 and
/// nothing is stored. An admitted one that turns out to replay a stored key gives its cells back,
/// so replays never count (the check-in path itself reads nothing before the writer).
///
/// Runs in a `check_in` span (`hunt.id`, `player.id`; never the fix).
#[tracing::instrument(name = "check_in", skip_all, fields(hunt.id = %hunt, player.id = %player))]
pub async fn check_in(
    ctx: &Ctx,
    hunt: HuntId,
    player: PlayerId,
    addr: AddrKey,
    input: CheckinInput,
) -> Result<CheckinResponse, AppError> {
    let received_at = ctx.clock.now();
    let request_hash = input.hash(hunt);
    let gate = ctx
        .gates
        .get(&ctx.pool, hunt)
        .await?
        .ok_or(AppError::NotFound("hunt"))?;
    let team = ctx
        .members
        .get(&ctx.pool, hunt, player)
        .await?
        .ok_or(AppError::NotInHunt)?;
    let fix = match Fix::new(
        input.lat,
        input.lon,
        input.accuracy_m,
        input.captured_at,
        received_at,
    ) {
        Ok(fix) => fix,
        // A known key answers before validation: a retry of an accepted check-in may arrive
        // after its fix has grown too old.
        Err(e) => {
            return known_or(
                ctx,
                player,
                &input,
                &request_hash,
                AppError::InvalidFix(e.to_string()),
            )
            .await;
        }
    };
    // A hunt pace of 0 s leaves only the server's ceiling.
    let rule = (gate.rules.checkin_interval_s > 0.0).then(|| {
        Rate::per_second(
            1.0 / gate.rules.checkin_interval_s,
            u32::try_from(gate.rules.checkin_burst).unwrap_or(1),
        )
    });
    let cells = match ctx.limits.take_checkin(hunt, player, addr, rule) {
        Ok(cells) => cells,
        Err(limited) => {
            return known_or(ctx, player, &input, &request_hash, limited.into()).await;
        }
    };
    let answer = write(
        ctx,
        hunt,
        player,
        team,
        gate,
        fix,
        received_at,
        &input,
        request_hash,
    )
    .await;
    if matches!(answer, Ok(Answer::Replayed(_))) {
        ctx.limits.give_back_checkin(cells);
    }
    answer.and_then(Answer::into_result)
}

/// What became of an admitted check-in.
enum Answer {
    Stored(CheckinResponse),
    /// Its key was stored already: the stored answer (or a 409 for another body).
    Replayed(Result<CheckinResponse, AppError>),
}

impl Answer {
    fn into_result(self) -> Result<CheckinResponse, AppError> {
        match self {
            Self::Stored(r) => Ok(r),
            Self::Replayed(r) => r,
        }
    }
}

/// Judges and hands the check-in to the writer, judging again while its hunt keeps changing.
#[expect(
    clippy::too_many_arguments,
    reason = "one call site, every value already at hand"
)]
async fn write(
    ctx: &Ctx,
    hunt: HuntId,
    player: PlayerId,
    team: TeamId,
    mut gate: std::sync::Arc<HuntGate>,
    fix: Fix,
    received_at: DateTime<Utc>,
    input: &CheckinInput,
    request_hash: Vec<u8>,
) -> Result<Answer, AppError> {
    let id = CheckinId::new_random();
    for _ in 0..JUDGE_ATTEMPTS {
        let started = std::time::Instant::now();
        let (base, matched) = judge(ctx, hunt, &gate, team, &fix, received_at).await?;
        ctx.metrics
            .checkin_judge
            .record(started.elapsed().as_secs_f64());
        tracing::debug!(targets.matched = matched.len(), "check-in judged");
        let pending = Pending {
            id,
            hunt,
            revision: gate.revision,
            player,
            team,
            idempotency_key: input.idempotency_key,
            request_hash: request_hash.clone(),
            fix,
            received_at,
            base,
            matched,
        };
        match ctx.writer.write(pending).await? {
            Written::Stored(response) => {
                tracing::debug!(verdict = ?response.verdict, "check-in stored");
                ctx.metrics.checkins.increment(1);
                if response.verdict == Verdict::Found {
                    ctx.metrics.checkins_found.increment(1);
                }
                return Ok(Answer::Stored(response));
            }
            Written::Known { hash, response } => {
                return Ok(Answer::Replayed(replay(
                    &ctx.metrics,
                    &request_hash,
                    &hash,
                    response,
                )));
            }
            Written::Stale => {
                tracing::debug!("check-in stale: its hunt changed; judged again");
                gate = ctx
                    .gates
                    .refresh(&ctx.pool, hunt, &gate)
                    .await?
                    .ok_or(AppError::NotFound("hunt"))?;
            }
        }
    }
    Err(AppError::Unavailable("the hunt keeps changing; retry"))
}

/// The verdict before finds are settled: the answer when nothing matches, and the targets the
/// geometry and the prerequisites admit.
async fn judge(
    ctx: &Ctx,
    hunt: HuntId,
    gate: &HuntGate,
    team: TeamId,
    fix: &Fix,
    received_at: DateTime<Utc>,
) -> Result<(CheckinResponse, Vec<VerdictTarget>), AppError> {
    let policy = gate.rules.accuracy_policy;
    let mut base = CheckinResponse {
        verdict: Verdict::NothingHere,
        reason: None,
        targets: Vec::new(),
        accuracy_m: fix.accuracy_m,
        policy,
        team_score: 0,
    };
    match checkin::gate(gate.status, &gate.schedule, &gate.rules, fix, received_at) {
        Gate::NotLive(reason) => {
            base.verdict = Verdict::NotLive;
            base.reason = Some(reason);
            return Ok((base, Vec::new()));
        }
        Gate::TooInaccurate => {
            base.verdict = Verdict::TooInaccurate;
            return Ok((base, Vec::new()));
        }
        Gate::Open => {}
    }
    let cached = ctx
        .indexes
        .get(&ctx.pool, hunt, gate.targets_version)
        .await?;
    let admitted = cached.index.admitted(fix.position, fix.accuracy_m, policy);
    let team_finds = if admitted.iter().any(|t| !t.prerequisites.is_empty()) {
        let mut conn = ctx.pool.get().await?;
        db::checkins::team_finds(&mut conn, team).await?
    } else {
        Default::default()
    };
    let unlocked = checkin::unlocked(
        admitted
            .iter()
            .map(|t| Admitted {
                target: t.id,
                prerequisites: t.prerequisites.clone(),
            })
            .collect(),
        &team_finds,
    );
    let matched = unlocked
        .iter()
        .filter_map(|id| cached.index.get(*id))
        .map(|t| VerdictTarget {
            id: t.id,
            name: t.name.clone(),
            points: t.points,
        })
        .collect();
    Ok((base, matched))
}

fn replay(
    metrics: &Metrics,
    request_hash: &[u8],
    stored_hash: &[u8],
    response: serde_json::Value,
) -> Result<CheckinResponse, AppError> {
    if stored_hash != request_hash {
        return Err(AppError::conflict(
            "idempotency_key_reused",
            "this idempotency_key was already used for a different check-in",
        ));
    }
    metrics.checkins_replayed.increment(1);
    super::checkin_stored::decode(response).map_err(|e| AppError::Internal(e.into()))
}

/// The stored answer of a known key, or `error`.
async fn known_or(
    ctx: &Ctx,
    player: PlayerId,
    input: &CheckinInput,
    request_hash: &[u8],
    error: AppError,
) -> Result<CheckinResponse, AppError> {
    let mut conn = ctx.pool.get().await?;
    match db::checkins::stored(&mut conn, player, input.idempotency_key).await? {
        Some((hash, response)) => replay(&ctx.metrics, request_hash, &hash, response),
        None => Err(error),
    }
}
