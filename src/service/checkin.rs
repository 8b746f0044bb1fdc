//! `check_in`: the main walk. Replay or validate, gate, ask the index, settle finds in one
//! durable transaction, answer with an explainable verdict that never reveals a hidden position.

use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::Ctx;
use crate::db;
use crate::db::checkins::NewCheckin;
use crate::domain::checkin::{self, Admitted, Fix, Gate, NotLiveReason, Verdict};
use crate::domain::event::{EventKind, NewEvent};
use crate::domain::geofence::AccuracyPolicy;
use crate::domain::ids::{CheckinId, HuntId, PlayerId, TargetId, TeamId};
use crate::error::AppError;
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VerdictTarget {
    pub id: TargetId,
    pub name: String,
    pub points: i32,
}

/// The answer to a check-in; stored as sent, and sent again for a replayed key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CheckinResponse {
    pub verdict: Verdict,
    /// For `not_live`: why.
    #[serde(skip_serializing_if = "Option::is_none", default)]
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

/// Judges and records a check-in. See DESIGN section 4 for the order of decisions.
pub async fn check_in(
    ctx: &Ctx,
    hunt: HuntId,
    player: PlayerId,
    input: CheckinInput,
) -> Result<CheckinResponse, AppError> {
    let received_at = ctx.clock.now();
    let request_hash = input.hash(hunt);
    let mut conn = ctx.pool.get().await?;
    let context = db::checkins::context(&mut conn, hunt, player, input.idempotency_key)
        .await?
        .ok_or(AppError::NotFound("hunt"))?;
    if let Some((hash, response)) = context.stored {
        return replay(&ctx.metrics, &request_hash, &hash, response);
    }
    let (team, team_name, score) = context.team.clone().ok_or(AppError::NotInHunt)?;
    let fix = Fix::new(
        input.lat,
        input.lon,
        input.accuracy_m,
        input.captured_at,
        received_at,
    )
    .map_err(|e| AppError::InvalidFix(e.to_string()))?;
    let policy = context.rules.accuracy_policy;
    let mut response = CheckinResponse {
        verdict: Verdict::NothingHere,
        reason: None,
        targets: Vec::new(),
        accuracy_m: fix.accuracy_m,
        policy,
        team_score: score,
    };
    let record = NewCheckin {
        id: CheckinId::new_random(),
        hunt,
        player,
        team,
        idempotency_key: input.idempotency_key,
        request_hash: &request_hash,
        fix,
        received_at,
        verdict: Verdict::NothingHere,
        response: &serde_json::Value::Null,
    };

    let matched: Vec<VerdictTarget> = match checkin::gate(
        context.status,
        &context.schedule,
        &context.rules,
        &fix,
        received_at,
    ) {
        Gate::NotLive(reason) => {
            response.verdict = Verdict::NotLive;
            response.reason = Some(reason);
            Vec::new()
        }
        Gate::TooInaccurate => {
            response.verdict = Verdict::TooInaccurate;
            Vec::new()
        }
        Gate::Open => {
            let cached = ctx
                .indexes
                .get(&mut conn, hunt, context.targets_version)
                .await?;
            let admitted = cached.index.admitted(fix.position, fix.accuracy_m, policy);
            let needs_finds = admitted.iter().any(|t| !t.prerequisites.is_empty());
            let team_finds = if needs_finds {
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
            unlocked
                .iter()
                .filter_map(|id| cached.index.get(*id))
                .map(|t| VerdictTarget {
                    id: t.id,
                    name: t.name.clone(),
                    points: t.points,
                })
                .collect()
        }
    };

    if matched.is_empty() {
        let body = serde_json::to_value(&response).map_err(|e| AppError::Internal(e.into()))?;
        let row = NewCheckin {
            verdict: response.verdict,
            response: &body,
            ..record.clone()
        };
        if !db::checkins::insert(&mut conn, &row).await? {
            return replay_after_race(ctx, &mut conn, player, input.idempotency_key, &request_hash)
                .await;
        }
        Metrics::inc(&ctx.metrics.checkins);
        return Ok(response);
    }

    let pairs: Vec<(TargetId, i32)> = matched.iter().map(|t| (t.id, t.points)).collect();
    let base = response;
    let record = &record;
    let outcome = conn
        .transaction::<_, AppError, _>(async |conn| {
            let outcome = db::checkins::record_finds(
                conn,
                hunt,
                team,
                player,
                record.id,
                received_at,
                &pairs,
            )
            .await?;
            let (new_ids, score) = (outcome.new_ids.clone(), outcome.team_score);
            let matched_ids: Vec<TargetId> = pairs.iter().map(|(id, _)| *id).collect();
            let verdict = checkin::settle(&matched_ids, &new_ids);
            let targets = if new_ids.is_empty() {
                matched.clone()
            } else {
                matched
                    .iter()
                    .filter(|t| new_ids.contains(&t.id))
                    .cloned()
                    .collect()
            };
            let response = CheckinResponse {
                verdict,
                targets,
                team_score: score,
                ..base.clone()
            };
            let body = serde_json::to_value(&response).map_err(|e| AppError::Internal(e.into()))?;
            let row = NewCheckin {
                verdict,
                response: &body,
                ..record.clone()
            };
            if db::checkins::insert(conn, &row).await? {
                if !new_ids.is_empty() {
                    let found: Vec<&VerdictTarget> = response.targets.iter().collect();
                    let finder = Finder {
                        team,
                        team_name: &team_name,
                        player,
                        handle: &context.handle,
                    };
                    let frozen = db::hunts::frozen_for_share(conn, hunt).await?;
                    let events = find_events(&finder, &found, &outcome, frozen);
                    db::events::append(conn, hunt, &events).await?;
                    db::clues::reveal_after_targets(conn, hunt, team, &new_ids, received_at)
                        .await?;
                }
                Ok(response)
            } else {
                // Lost a race with the same key: roll back our finds, answer with the winner's response.
                Err(AppError::conflict("idempotency_race", "retry"))
            }
        })
        .await;
    match outcome {
        Ok(response) => {
            Metrics::inc(&ctx.metrics.checkins);
            if response.verdict == Verdict::Found {
                ctx.sequencer.notify_one();
                Metrics::inc(&ctx.metrics.checkins_found);
            }
            Ok(response)
        }
        Err(AppError::Conflict {
            code: "idempotency_race",
            ..
        }) => replay_after_race(ctx, &mut conn, player, input.idempotency_key, &request_hash).await,
        Err(e) => Err(e),
    }
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
    Metrics::inc(&metrics.checkins_replayed);
    serde_json::from_value(response).map_err(|e| AppError::Internal(e.into()))
}

async fn replay_after_race(
    ctx: &Ctx,
    conn: &mut diesel_async::AsyncPgConnection,
    player: PlayerId,
    key: uuid::Uuid,
    request_hash: &[u8],
) -> Result<CheckinResponse, AppError> {
    let (hash, response) = db::checkins::stored(conn, player, key)
        .await?
        .ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!(
                "idempotency key conflict without a stored check-in"
            ))
        })?;
    replay(&ctx.metrics, request_hash, &hash, response)
}

/// Who found: the team and the player, with the names events show.
struct Finder<'a> {
    team: TeamId,
    team_name: &'a str,
    player: PlayerId,
    handle: &'a str,
}

/// One `target_found` (team audience) per new find and one `score_changed` (hunt audience; the
/// team's only while the leaderboard is frozen).
fn find_events(
    f: &Finder<'_>,
    found: &[&VerdictTarget],
    outcome: &db::checkins::FindsOutcomeView,
    frozen: bool,
) -> Vec<NewEvent> {
    let delta: i64 = found.iter().map(|t| i64::from(t.points)).sum();
    let mut events: Vec<NewEvent> = found
        .iter()
        .map(|t| NewEvent {
            kind: EventKind::TargetFound,
            team: Some(f.team),
            data: json!({"team_id": f.team, "target_id": t.id, "name": t.name, "points": t.points,
                         "player_id": f.player, "handle": f.handle}),
        })
        .collect();
    events.push(NewEvent {
        kind: EventKind::ScoreChanged,
        team: frozen.then_some(f.team),
        data: json!({"team_id": f.team, "team_name": f.team_name, "score": outcome.team_score, "delta": delta,
                     "player_id": f.player, "handle": f.handle, "player_score": outcome.player_score}),
    });
    events
}
