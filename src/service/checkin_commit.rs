//! One batch of the check-in writer in one transaction: two pipelined round trips (hunt
//! revisions, team locks and every row in the first; fills, events and clue reveals in the second),
//! retried after a deadlock or a serialization failure, then the stored answers of known keys.

use std::collections::HashMap;

use diesel_async::{AsyncConnection, AsyncPgConnection};

use super::checkin::CheckinResponse;
use super::checkin_batch::{finding_teams, settle_claims};
use super::checkin_writer::{Deps, Pending, Written};
use crate::db;
use crate::db::checkin_writes::{self, FindCandidate, NewCheckin};
use crate::domain::checkin::Verdict;
use crate::domain::event::NewEvent;
use crate::domain::ids::{HuntId, PlayerId};
use crate::error::AppError;
use crate::telemetry::RerunReason;

/// Attempts of one batch after a deadlock or serialization failure.
const ATTEMPTS: usize = 3;

/// How one check-in of a batch ended inside the transaction.
#[derive(Debug, Clone)]
enum Slot {
    Stored(CheckinResponse),
    /// Not stored: its key is stored (before, by a concurrent request, or earlier in this batch).
    Known,
    Stale,
}

/// Why a batch transaction did not commit.
#[derive(Debug)]
enum BatchError {
    Db(diesel::result::Error),
    /// The statements disagreed with each other: a bug, not a conflict.
    Broken(&'static str),
}

impl From<diesel::result::Error> for BatchError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Db(e)
    }
}

impl From<serde_json::Error> for BatchError {
    fn from(e: serde_json::Error) -> Self {
        Self::Db(diesel::result::Error::SerializationError(Box::new(e)))
    }
}

impl From<BatchError> for AppError {
    fn from(e: BatchError) -> Self {
        match e {
            BatchError::Db(e) => e.into(),
            BatchError::Broken(what) => AppError::Internal(anyhow::anyhow!(what)),
        }
    }
}

/// Commits a batch (retrying deadlocks and serialization failures), then reads the stored
/// responses of known keys. One result per pending check-in, in order.
pub(super) async fn write_batch(
    deps: &Deps,
    conn: &mut AsyncPgConnection,
    pending: &[&Pending],
) -> Result<Vec<Result<Written, AppError>>, AppError> {
    let mut attempts = 0;
    let slots = loop {
        let started = std::time::Instant::now();
        let result = conn
            .transaction::<_, BatchError, _>(async |conn| commit(conn, pending).await)
            .await;
        match result {
            Ok(slots) => {
                let elapsed = started.elapsed();
                deps.metrics.checkin_commit.record(elapsed.as_secs_f64());
                tracing::debug!(
                    duration_ms = elapsed.as_secs_f64() * 1e3,
                    "check-in batch committed"
                );
                break slots;
            }
            Err(BatchError::Db(e)) if retryable(&e) && attempts + 1 < ATTEMPTS => {
                deps.metrics.rerun(RerunReason::Retry);
                attempts += 1;
            }
            Err(e) => return Err(e.into()),
        }
    };
    deps.metrics.checkin_batches.increment(1);
    let stale = slots.iter().filter(|s| matches!(s, Slot::Stale)).count();
    deps.metrics.checkins_stale.increment(stale as u64);
    let found = slots
        .iter()
        .any(|s| matches!(s, Slot::Stored(r) if r.verdict == Verdict::Found));
    if found {
        deps.sequencer.notify_one();
    }
    let keys: Vec<(PlayerId, uuid::Uuid)> = slots
        .iter()
        .zip(pending)
        .filter(|(s, _)| matches!(s, Slot::Known))
        .map(|(_, p)| (p.player, p.idempotency_key))
        .collect();
    let stored = if keys.is_empty() {
        HashMap::new()
    } else {
        db::checkins::stored_many(conn, &keys).await?
    };
    Ok(slots
        .into_iter()
        .zip(pending)
        .map(|(slot, p)| match slot {
            Slot::Stored(response) => Ok(Written::Stored(response)),
            Slot::Stale => Ok(Written::Stale),
            // Several check-ins of one batch may share a key: each gets the stored row.
            Slot::Known => stored
                .get(&(p.player, p.idempotency_key))
                .map(|(hash, response)| Written::Known {
                    hash: hash.clone(),
                    response: response.clone(),
                })
                .ok_or_else(|| {
                    AppError::Internal(anyhow::anyhow!(
                        "idempotency key conflict without a stored check-in"
                    ))
                }),
        })
        .collect())
}

/// A deadlock (two transactions locking the same hunt and team rows through other paths) or a
/// serialization failure: the batch can simply run again.
fn retryable(e: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    match e {
        Error::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => true,
        Error::DatabaseError(_, info) => info.message().contains("deadlock detected"),
        _ => false,
    }
}

/// The row a pending check-in is stored as: a claim of its key when it matched targets (settled
/// once the finds are known), its final response otherwise.
fn row(p: &Pending) -> Result<NewCheckin, serde_json::Error> {
    let claim = !p.matched.is_empty();
    Ok(NewCheckin {
        id: p.id,
        hunt: p.hunt,
        revision: p.revision,
        player: p.player,
        team: p.team,
        idempotency_key: p.idempotency_key,
        request_hash: p.request_hash.clone(),
        fix: p.fix,
        received_at: p.received_at,
        verdict: if claim {
            Verdict::Found
        } else {
            p.base.verdict
        },
        response: if claim {
            None
        } else {
            Some(super::checkin_stored::encode(&p.base)?)
        },
    })
}

/// The batch transaction: two pipelined round trips.
///
/// 1. Hunt rows share-locked (revisions), finding teams locked (scores), then one statement:
///    every check-in row inserted (a claim of its key for one that matched targets; only rows still
///    at their hunt's revision; a key stored before, meanwhile or earlier in the batch is skipped)
///    and finds recorded for the claims stored. Locks go in one order: hunts, teams, keys.
/// 2. Claims filled with their settled responses; events and clue reveals appended.
///
/// So a key race or a stale check-in costs that check-in alone: it is left out, never rolled back
/// with the rest. A batch without matches has no second round trip.
async fn commit(conn: &AsyncPgConnection, pending: &[&Pending]) -> Result<Vec<Slot>, BatchError> {
    let mut hunts: Vec<HuntId> = pending.iter().map(|p| p.hunt).collect();
    hunts.sort();
    hunts.dedup();
    let finding = finding_teams(pending);
    let candidates: Vec<FindCandidate> = pending
        .iter()
        .flat_map(|p| {
            p.matched.iter().map(move |t| FindCandidate {
                checkin: p.id,
                hunt: p.hunt,
                team: p.team,
                player: p.player,
                target: t.id,
                points: t.points,
                found_at: p.received_at,
            })
        })
        .collect();
    let rows = pending
        .iter()
        .map(|p| row(p))
        .collect::<Result<Vec<_>, _>>()?;
    // `store` binds a PostGIS type: it must come last (see `checkin_writes`).
    let (locked, team_scores, stored) = tokio::try_join!(
        checkin_writes::lock_hunts(conn, &hunts),
        checkin_writes::team_scores(conn, &finding),
        checkin_writes::store(conn, &rows, &candidates),
    )?;

    let mut slots: Vec<Slot> = Vec::with_capacity(pending.len());
    let mut claimed: Vec<usize> = Vec::new();
    for (i, p) in pending.iter().enumerate() {
        let slot = if locked.get(&p.hunt).map(|h| h.revision) != Some(p.revision) {
            Slot::Stale
        } else {
            match stored.checkins.get(&p.id) {
                None => Slot::Known,
                Some(_) if !p.matched.is_empty() => {
                    claimed.push(i);
                    // Settled below.
                    Slot::Known
                }
                Some(Some(team_score)) => Slot::Stored(CheckinResponse {
                    team_score: *team_score,
                    ..p.base.clone()
                }),
                Some(None) => return Err(BatchError::Broken("a check-in row without its score")),
            }
        };
        slots.push(slot);
    }
    if claimed.is_empty() {
        return Ok(slots);
    }

    let settled = settle_claims(pending, &claimed, &locked, team_scores, &stored.finds)?;
    let events: Vec<(HuntId, &NewEvent)> = settled.events.iter().map(|(h, e)| (*h, e)).collect();
    let (filled, (), _) = tokio::try_join!(
        checkin_writes::fill_claims(conn, &settled.fills),
        db::events::append_many(conn, &events),
        db::clues::reveal_after_targets(conn, &settled.unlocks),
    )?;
    if filled != settled.fills.len() {
        return Err(BatchError::Broken("a claimed check-in row was not filled"));
    }
    for (i, response) in settled.responses {
        slots[i] = Slot::Stored(response);
    }
    Ok(slots)
}
