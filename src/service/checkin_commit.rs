//! One batch of the check-in writer in one transaction: one pipelined round trip when nothing in
//! it matched a target (hunt revisions and every row), two otherwise (hunt revisions, team locks and
//! what the rules of a find read under them; then every row with its final answer, the finds,
//! events and clue reveals), retried after a deadlock, a serialization failure or a lost race, then
//! the stored answers of known keys.

use std::collections::{HashMap, HashSet};

use diesel_async::{AsyncConnection, AsyncPgConnection};

use super::checkin::CheckinResponse;
use super::checkin_batch::{finding_teams, settle_claims};
use super::checkin_writer::{Deps, Pending, Written};
use crate::db;
use crate::db::checkin_writes::{self, NewCheckin};
use crate::domain::checkin::Verdict;
use crate::domain::event::NewEvent;
use crate::domain::find::Before;
use crate::domain::ids::{CheckinId, HuntId, PlayerId, TargetId, TeamId};
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
    /// A concurrent transaction stored a claimed check-in's key, or one of its finds, between the
    /// reads and the writes: what was decided no longer holds, so the batch runs again.
    Raced,
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
            BatchError::Raced => AppError::Unavailable("check-in batch lost its races"),
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
            Err(BatchError::Raced) if attempts + 1 < ATTEMPTS => {
                deps.metrics.rerun(RerunReason::Race);
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

/// The row a pending check-in is stored as, with the answer it settled to.
fn row(
    p: &Pending,
    answer: &CheckinResponse,
    claim: bool,
) -> Result<NewCheckin, serde_json::Error> {
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
        verdict: answer.verdict,
        response: super::checkin_stored::encode(answer)?,
        score_from_team: !claim,
    })
}

/// The batch transaction.
///
/// Without a check-in that matched a target: one round trip, the hunt rows share-locked (their
/// revisions) and every row inserted (only rows still at their hunt's revision; a key stored
/// before, meanwhile or earlier in the batch is skipped).
///
/// With claims (check-ins that matched targets): two round trips.
/// 1. Hunt rows share-locked, finding teams locked, and under those locks what the rules of a find
///    need: the teams' scores, which of the matched targets they have, the finders' scores, which
///    claimed keys are stored already. The rules decide (`checkin_batch::settle_claims`).
/// 2. Every row inserted once with its final answer, the finds decided, events, clue reveals. If
///    a concurrent transaction took a claimed key or a find meanwhile (another node; within a node
///    a team's check-ins go through one writer), the batch runs again ([`BatchError::Raced`]).
///
/// Locks go in one order: hunts, teams, keys. A stale check-in or a known key costs that check-in
/// alone: it is left out, never rolled back with the rest.
async fn commit(conn: &AsyncPgConnection, pending: &[&Pending]) -> Result<Vec<Slot>, BatchError> {
    let mut hunts: Vec<HuntId> = pending.iter().map(|p| p.hunt).collect();
    hunts.sort();
    hunts.dedup();
    if pending.iter().all(|p| p.matched.is_empty()) {
        let rows = pending
            .iter()
            .map(|p| row(p, &p.base, false))
            .collect::<Result<Vec<_>, _>>()?;
        // `store` binds a PostGIS type: it must come last (see `checkin_writes`).
        let (locked, stored) = tokio::try_join!(
            checkin_writes::lock_hunts(conn, &hunts),
            checkin_writes::store(conn, &rows, &[]),
        )?;
        return Ok(pending
            .iter()
            .map(|p| {
                if stale(p, &locked) {
                    Slot::Stale
                } else {
                    stored_slot(p, &stored.checkins)
                }
            })
            .collect());
    }

    let finding = finding_teams(pending);
    let matched = pending.iter().filter(|p| !p.matched.is_empty());
    let pairs: Vec<(TeamId, TargetId)> = matched
        .clone()
        .flat_map(|p| p.matched.iter().map(|t| (p.team, t.id)))
        .collect();
    let mut finders: Vec<(HuntId, PlayerId)> =
        matched.clone().map(|p| (p.hunt, p.player)).collect();
    finders.sort();
    finders.dedup();
    let keys: Vec<(PlayerId, uuid::Uuid)> =
        matched.map(|p| (p.player, p.idempotency_key)).collect();
    // In this order: the reads after the team locks see every find made under them.
    let (locked, team_scores, found, player_scores, known) = tokio::try_join!(
        checkin_writes::lock_hunts(conn, &hunts),
        checkin_writes::team_scores(conn, &finding),
        checkin_writes::found_before(conn, &pairs),
        checkin_writes::player_scores(conn, &finders),
        checkin_writes::known_keys(conn, &keys),
    )?;

    let mut slots: Vec<Slot> = Vec::with_capacity(pending.len());
    let mut claimed: Vec<usize> = Vec::new();
    let mut plain: Vec<usize> = Vec::new();
    let mut seen: HashSet<(PlayerId, uuid::Uuid)> = HashSet::new();
    for (i, p) in pending.iter().enumerate() {
        if stale(p, &locked) {
            slots.push(Slot::Stale);
            continue;
        }
        // Several check-ins of a batch may share a key: the first is stored, the others answer
        // with its row.
        let key = (p.player, p.idempotency_key);
        if !seen.insert(key) || (!p.matched.is_empty() && known.contains(&key)) {
            slots.push(Slot::Known);
            continue;
        }
        if p.matched.is_empty() {
            plain.push(i);
        } else {
            claimed.push(i);
        }
        // Replaced below by what was stored.
        slots.push(Slot::Known);
    }
    let before = Before {
        team_scores,
        player_scores,
        found,
    };
    let settled = settle_claims(pending, &claimed, &locked, before);
    let mut rows = Vec::with_capacity(plain.len() + claimed.len());
    for &i in &plain {
        rows.push(row(pending[i], &pending[i].base, false)?);
    }
    for (i, answer) in &settled.responses {
        rows.push(row(pending[*i], answer, true)?);
    }
    let events: Vec<(HuntId, &NewEvent)> = settled.events.iter().map(|(h, e)| (*h, e)).collect();
    // `store` binds a PostGIS type: it must come last (see `checkin_writes`).
    let ((), _, stored) = tokio::try_join!(
        db::events::append_many(conn, &events),
        db::clues::reveal_after_targets(conn, &settled.unlocks),
        checkin_writes::store(conn, &rows, &settled.finds),
    )?;
    let claims_stored = settled
        .responses
        .iter()
        .all(|(i, _)| stored.checkins.contains_key(&pending[*i].id));
    if !claims_stored || stored.finds != settled.finds.len() {
        return Err(BatchError::Raced);
    }
    for i in plain {
        slots[i] = stored_slot(pending[i], &stored.checkins);
    }
    for (i, response) in settled.responses {
        slots[i] = Slot::Stored(response);
    }
    Ok(slots)
}

/// Whether `p` was judged against another revision of its hunt than the one locked.
fn stale(p: &Pending, locked: &HashMap<HuntId, checkin_writes::LockedHunt>) -> bool {
    locked.get(&p.hunt).map(|h| h.revision) != Some(p.revision)
}

/// A check-in that matched nothing: stored with its team's score at that moment, or not stored
/// because its key was (before, meanwhile, or earlier in the batch).
fn stored_slot(p: &Pending, stored: &HashMap<CheckinId, i64>) -> Slot {
    match stored.get(&p.id) {
        Some(team_score) => Slot::Stored(CheckinResponse {
            team_score: *team_score,
            ..p.base.clone()
        }),
        None => Slot::Known,
    }
}
