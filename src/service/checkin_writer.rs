//! Group commit of check-ins: requests hand their judged check-ins to a few writer tasks, and each
//! writer stores everything waiting in one transaction (one WAL flush for the lot): hunt revisions
//! checked under a share lock, check-in rows (the keys of those that matched targets claimed
//! before their finds are recorded), finds and scores, events. A request is answered only after
//! its transaction committed. A check-in that loses a key race or was judged against an outdated
//! hunt is left out of its batch alone; the batch runs again only after a deadlock or a
//! serialization failure (`nenufar_checkin_batch_reruns_total`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};
use diesel_async::pooled_connection::PoolableConnection;
use diesel_async::pooled_connection::deadpool::Object;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use tokio::sync::{Notify, mpsc, oneshot};

use super::checkin::{CheckinResponse, VerdictTarget};
use super::checkin_batch::{finding_teams, settle_claims};
use crate::db;
use crate::db::checkin_writes::{self, FindCandidate, NewCheckin};
use crate::db::checkins::Member;
use crate::domain::checkin::{Fix, Verdict};
use crate::domain::event::NewEvent;
use crate::domain::ids::{CheckinId, HuntId, PlayerId};
use crate::error::AppError;
use crate::telemetry::{Metrics, RerunReason};
use tracing::Instrument;

/// Writer tasks per node: while one waits for its flush, the others fill and send theirs. Measured
/// with `ops/bench.sh checkin_http` on 2 cores: 2 writers 3,127/s (latency-bound), 4 writers
/// 3,834-4,727/s, 8 writers 3,886/s with 20 % more PostgreSQL CPU per check-in (smaller batches).
const WRITERS: usize = 4;
/// Most check-ins in one transaction.
const MAX_BATCH: usize = 512;
/// Check-ins waiting for a writer before requests wait to hand theirs over.
const QUEUE: usize = 4096;
/// Attempts of one batch after a deadlock or serialization failure.
const ATTEMPTS: usize = 3;

/// A judged check-in waiting to be stored.
#[derive(Debug, Clone)]
pub struct Pending {
    pub id: CheckinId,
    pub hunt: HuntId,
    /// The hunt revision the verdict was judged against.
    pub revision: i64,
    pub player: PlayerId,
    pub member: Arc<Member>,
    pub idempotency_key: uuid::Uuid,
    pub request_hash: Vec<u8>,
    pub fix: Fix,
    pub received_at: DateTime<Utc>,
    /// The answer when nothing matched (its `team_score` is filled in at commit).
    pub base: CheckinResponse,
    /// Targets the geometry and the rules admitted; found or already found is decided at commit.
    pub matched: Vec<VerdictTarget>,
}

/// What became of a pending check-in.
#[derive(Debug, Clone, PartialEq)]
pub enum Written {
    /// Stored with this response.
    Stored(CheckinResponse),
    /// Not stored: the player had already used its idempotency key; the stored hash and response.
    Known {
        hash: Vec<u8>,
        response: serde_json::Value,
    },
    /// Not stored: the hunt changed since the verdict was judged; judge again on a fresh gate.
    Stale,
}

struct Job {
    pending: Pending,
    reply: oneshot::Sender<Result<Written, AppError>>,
}

/// What writer tasks use.
#[derive(Clone)]
struct Deps {
    pool: db::Pool,
    metrics: Arc<Metrics>,
    sequencer: Arc<Notify>,
}

/// The node's check-in writer: a queue and the tasks that drain it (started on first use, inside
/// the runtime that serves requests).
pub struct CheckinWriter {
    tx: mpsc::Sender<Job>,
    metrics: Arc<Metrics>,
    idle: Mutex<Option<(mpsc::Receiver<Job>, Deps)>>,
}

impl std::fmt::Debug for CheckinWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckinWriter").finish_non_exhaustive()
    }
}

impl CheckinWriter {
    /// A writer storing through `pool`; `sequencer` is woken after commits that appended events.
    pub fn new(pool: db::Pool, metrics: Arc<Metrics>, sequencer: Arc<Notify>) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        let deps = Deps {
            pool,
            metrics: metrics.clone(),
            sequencer,
        };
        Self {
            tx,
            metrics,
            idle: Mutex::new(Some((rx, deps))),
        }
    }

    /// Stores a judged check-in with the others waiting, and says what became of it once its
    /// transaction committed.
    pub async fn write(&self, pending: Pending) -> Result<Written, AppError> {
        self.start();
        let (reply, answer) = oneshot::channel();
        // Counted before the send, so that the writer's decrement always follows it.
        self.metrics.checkin_writer_queue.increment(1.0);
        if self.tx.send(Job { pending, reply }).await.is_err() {
            self.metrics.checkin_writer_queue.decrement(1.0);
            return Err(AppError::Unavailable("check-in writer stopped"));
        }
        answer.await.map_err(|_| {
            AppError::Internal(anyhow::anyhow!("check-in writer dropped a check-in"))
        })?
    }

    fn start(&self) {
        let Some((rx, deps)) = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        else {
            return;
        };
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        for _ in 0..WRITERS {
            tokio::spawn(drain(rx.clone(), deps.clone()));
        }
    }
}

/// One writer: takes everything waiting (up to `MAX_BATCH`) and stores it, until the node stops.
async fn drain(rx: Arc<tokio::sync::Mutex<mpsc::Receiver<Job>>>, deps: Deps) {
    loop {
        let mut jobs = Vec::new();
        {
            let mut rx = rx.lock().await;
            let Some(first) = rx.recv().await else {
                return;
            };
            jobs.push(first);
            while jobs.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(job) => jobs.push(job),
                    Err(_) => break,
                }
            }
        }
        deps.metrics
            .checkin_writer_queue
            .decrement(jobs.len() as f64);
        deps.metrics.checkin_batch_size.record(jobs.len() as f64);
        let span = tracing::info_span!("checkin_batch", batch.size = jobs.len());
        write_jobs(&deps, jobs).instrument(span).await;
    }
}

/// Stores a batch and answers each request. A batch that lost its connection runs again once on a
/// fresh one (whatever became of its commit: keys stored by it answer from their rows). When the
/// batch still fails as a whole, each check-in is tried alone (on a working connection), so one
/// bad row fails one request, not its neighbours: three attempts at most, besides the retries of
/// deadlocks inside each.
async fn write_jobs(deps: &Deps, jobs: Vec<Job>) {
    let Some(mut conn) = connection(deps).await else {
        for job in jobs {
            let _ = job.reply.send(Err(unavailable()));
        }
        return;
    };
    let pending: Vec<&Pending> = jobs.iter().map(|j| &j.pending).collect();
    let mut result = write_batch(deps, &mut conn, &pending).await;
    if result.is_err() && conn.is_broken() {
        deps.metrics.rerun(RerunReason::Reconnect);
        match connection(deps).await {
            Some(fresh) => {
                conn = fresh;
                result = write_batch(deps, &mut conn, &pending).await;
            }
            None => result = Err(unavailable()),
        }
    }
    match result {
        Ok(written) => {
            for (job, w) in jobs.into_iter().zip(written) {
                let _ = job.reply.send(w);
            }
        }
        // Alone on a working connection, it would fail the same way.
        Err(e) if jobs.len() == 1 && !conn.is_broken() => {
            if let Some(job) = jobs.into_iter().next() {
                let _ = job.reply.send(Err(e));
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "check-in batch failed; storing one by one");
            deps.metrics.rerun(RerunReason::OneByOne);
            for job in jobs {
                if conn.is_broken() {
                    let Some(fresh) = connection(deps).await else {
                        let _ = job.reply.send(Err(unavailable()));
                        continue;
                    };
                    conn = fresh;
                }
                let written = write_batch(deps, &mut conn, &[&job.pending])
                    .await
                    .and_then(|mut w| w.pop().unwrap_or_else(|| Err(lost())));
                let _ = job.reply.send(written);
            }
        }
    }
}

/// A pooled connection, or `None` (logged) when the database cannot be reached.
async fn connection(deps: &Deps) -> Option<Object<AsyncPgConnection>> {
    match deps.pool.get().await {
        Ok(conn) => Some(conn),
        Err(e) => {
            tracing::error!(error = %e, "check-in writer: no database connection");
            None
        }
    }
}

fn unavailable() -> AppError {
    AppError::Unavailable("database unavailable")
}

fn lost() -> AppError {
    AppError::Internal(anyhow::anyhow!("check-in batch lost a result"))
}

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
async fn write_batch(
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
        team: p.member.team,
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
                team: p.member.team,
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
