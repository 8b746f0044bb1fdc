//! Group commit of check-ins: requests hand their judged check-ins to a few writer tasks, and each
//! writer stores everything waiting in one transaction (one WAL flush for the lot): hunt revisions
//! checked under a share lock, finds and scores, check-in rows with their final responses, events.
//! A request is answered only after its transaction committed.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use tokio::sync::{Notify, mpsc, oneshot};

use super::checkin::{CheckinResponse, VerdictTarget};
use super::checkin_batch::{Scores, find_events, player_scores_before, settle, teams_of};
use crate::db;
use crate::db::checkins::{FindCandidate, LockedHunt, Member, NewCheckin};
use crate::db::clues::Unlock;
use crate::domain::checkin::{Fix, Verdict};
use crate::domain::event::NewEvent;
use crate::domain::ids::{CheckinId, HuntId, PlayerId, TargetId};
use crate::error::AppError;
use crate::telemetry::{Metrics, RerunReason};

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
            metrics,
            sequencer,
        };
        Self {
            tx,
            idle: Mutex::new(Some((rx, deps))),
        }
    }

    /// Stores a judged check-in with the others waiting, and says what became of it once its
    /// transaction committed.
    pub async fn write(&self, pending: Pending) -> Result<Written, AppError> {
        self.start();
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Job { pending, reply })
            .await
            .map_err(|_| AppError::Unavailable("check-in writer stopped"))?;
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
        write_jobs(&deps, jobs).await;
    }
}

/// Stores a batch and answers each request. When the batch fails as a whole, each check-in is
/// tried alone, so one bad row fails one request, not its neighbours.
async fn write_jobs(deps: &Deps, jobs: Vec<Job>) {
    let pending: Vec<&Pending> = jobs.iter().map(|j| &j.pending).collect();
    let mut conn = match deps.pool.get().await {
        Ok(conn) => conn,
        Err(e) => {
            tracing::error!(error = %e, "check-in writer: no database connection");
            for job in jobs {
                let _ = job
                    .reply
                    .send(Err(AppError::Unavailable("database unavailable")));
            }
            return;
        }
    };
    match write_batch(deps, &mut conn, &pending).await {
        Ok(written) => {
            for (job, w) in jobs.into_iter().zip(written) {
                let _ = job.reply.send(w);
            }
        }
        Err(e) if jobs.len() == 1 => {
            if let Some(job) = jobs.into_iter().next() {
                let _ = job.reply.send(Err(e));
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, batch = jobs.len(), "check-in batch failed; storing one by one");
            deps.metrics.rerun(RerunReason::OneByOne);
            for job in jobs {
                let written = write_batch(deps, &mut conn, &[&job.pending])
                    .await
                    .and_then(|mut w| w.pop().unwrap_or_else(|| Err(lost())));
                let _ = job.reply.send(written);
            }
        }
    }
}

fn lost() -> AppError {
    AppError::Internal(anyhow::anyhow!("check-in batch lost a result"))
}

/// How one check-in of a batch ended inside the transaction.
#[derive(Debug, Clone)]
enum Slot {
    Stored(CheckinResponse),
    Known,
    Stale,
}

/// Why a batch transaction did not commit.
#[derive(Debug)]
enum BatchError {
    /// These check-ins found targets but their key was stored meanwhile by a concurrent request
    /// with the same key: answer them from the stored row and write the rest again.
    Raced(Vec<usize>),
    /// These check-ins were judged against an older revision of their hunt.
    Stale(Vec<usize>),
    Db(diesel::result::Error),
}

impl From<diesel::result::Error> for BatchError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Db(e)
    }
}

/// Commits a batch (retrying deadlocks, serialization failures and key races), then reads the
/// stored responses of known keys. One result per pending check-in, in order.
async fn write_batch(
    deps: &Deps,
    conn: &mut AsyncPgConnection,
    pending: &[&Pending],
) -> Result<Vec<Result<Written, AppError>>, AppError> {
    let mut excluded = Excluded::default();
    let mut attempts = 0;
    let slots = loop {
        let result = conn
            .transaction::<_, BatchError, _>(async |conn| commit(conn, pending, &excluded).await)
            .await;
        match result {
            Ok(slots) => break slots,
            Err(BatchError::Raced(raced)) => {
                deps.metrics.rerun(RerunReason::Raced);
                excluded.known.extend(raced);
            }
            Err(BatchError::Stale(stale)) => {
                deps.metrics.rerun(RerunReason::Stale);
                excluded.stale.extend(stale);
            }
            Err(BatchError::Db(e)) if retryable(&e) && attempts + 1 < ATTEMPTS => {
                deps.metrics.rerun(RerunReason::Retry);
                attempts += 1;
            }
            Err(BatchError::Db(e)) => return Err(e.into()),
        }
    };
    Metrics::inc(&deps.metrics.checkin_batches);
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
    let mut stored = if keys.is_empty() {
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
            Slot::Known => stored
                .remove(&(p.player, p.idempotency_key))
                .map(|(hash, response)| Written::Known { hash, response })
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

/// Check-ins of a batch left out of its next attempt.
#[derive(Debug, Default)]
struct Excluded {
    /// Answered from the stored row of their key.
    known: HashSet<usize>,
    /// Judged against an outdated hunt: sent back to be judged again.
    stale: HashSet<usize>,
}

/// The batch transaction; check-ins in `excluded` are not written.
async fn commit(
    conn: &AsyncPgConnection,
    pending: &[&Pending],
    excluded: &Excluded,
) -> Result<Vec<Slot>, BatchError> {
    let mut slots: Vec<Slot> = Vec::with_capacity(pending.len());
    let mut active: Vec<usize> = Vec::with_capacity(pending.len());
    for i in 0..pending.len() {
        if excluded.stale.contains(&i) {
            slots.push(Slot::Stale);
        } else {
            // Answered from the stored row unless written below.
            slots.push(Slot::Known);
            if !excluded.known.contains(&i) {
                active.push(i);
            }
        }
    }
    if active.is_empty() {
        return Ok(slots);
    }
    let mut hunts: Vec<HuntId> = active.iter().map(|&i| pending[i].hunt).collect();
    hunts.sort();
    hunts.dedup();
    let (finding, others) = teams_of(pending, &active);
    let candidates: Vec<FindCandidate> = active
        .iter()
        .flat_map(|&i| {
            let p = pending[i];
            p.matched.iter().map(move |t| FindCandidate {
                checkin: p.id,
                hunt: p.hunt,
                team: p.member.team,
                player: p.player,
                idempotency_key: p.idempotency_key,
                target: t.id,
                points: t.points,
                found_at: p.received_at,
            })
        })
        .collect();
    // One pipelined round trip, run in this order: hunt locks (revision check), team locks, finds.
    // The revisions are checked afterwards: a stale check-in (rare: the hunt changed since it was
    // judged) rolls the batch back and it runs again without it.
    let (locked, mut team_scores, new_finds) = tokio::try_join!(
        db::checkins::lock_hunts(conn, &hunts),
        db::checkins::team_scores(conn, &finding, &others),
        db::checkins::record_finds(conn, &candidates),
    )?;
    let stale: Vec<usize> = active
        .iter()
        .copied()
        .filter(|&i| locked.get(&pending[i].hunt).map(|h| h.revision) != Some(pending[i].revision))
        .collect();
    if !stale.is_empty() {
        return Err(BatchError::Stale(stale));
    }
    let mut new_by_checkin: HashMap<CheckinId, HashSet<TargetId>> = HashMap::new();
    for f in &new_finds {
        new_by_checkin
            .entry(f.checkin)
            .or_default()
            .insert(f.target);
    }
    let mut player_scores = player_scores_before(pending, &active, &new_finds, &new_by_checkin);

    let mut rows: Vec<NewCheckin> = Vec::with_capacity(active.len());
    let mut events: Vec<(HuntId, NewEvent)> = Vec::new();
    let mut unlocks: Vec<Unlock> = Vec::new();
    let mut responses: Vec<(usize, CheckinResponse, bool)> = Vec::with_capacity(active.len());
    for &i in &active {
        let p = pending[i];
        let news = new_by_checkin.get(&p.id);
        let found: Vec<VerdictTarget> = p
            .matched
            .iter()
            .filter(|t| news.is_some_and(|n| n.contains(&t.id)))
            .cloned()
            .collect();
        let delta: i64 = found.iter().map(|t| i64::from(t.points)).sum();
        let team_score = team_scores.entry(p.member.team).or_insert(0);
        *team_score += delta;
        let response = settle(p, found.clone(), *team_score);
        if !found.is_empty() {
            let player_score = player_scores.entry((p.hunt, p.player)).or_insert(0);
            *player_score += delta;
            let frozen = locked.get(&p.hunt).is_some_and(|h: &LockedHunt| h.frozen);
            let scores = Scores {
                team: *team_score,
                player: *player_score,
                delta,
            };
            events.extend(
                find_events(p, &found, scores, frozen)
                    .into_iter()
                    .map(|e| (p.hunt, e)),
            );
            unlocks.extend(found.iter().map(|t| Unlock {
                hunt: p.hunt,
                team: p.member.team,
                target: t.id,
                at: p.received_at,
            }));
        }
        let body = serde_json::to_value(&response)
            .map_err(|e| BatchError::Db(diesel::result::Error::SerializationError(e.into())))?;
        rows.push(NewCheckin {
            id: p.id,
            hunt: p.hunt,
            player: p.player,
            team: p.member.team,
            idempotency_key: p.idempotency_key,
            request_hash: p.request_hash.clone(),
            fix: p.fix,
            received_at: p.received_at,
            verdict: response.verdict,
            response: body,
        });
        responses.push((i, response, !found.is_empty()));
    }

    // A second pipelined round trip: check-in rows, events, clue reveals.
    let events: Vec<(HuntId, &NewEvent)> = events.iter().map(|(h, e)| (*h, e)).collect();
    let (inserted, (), _) = tokio::try_join!(
        db::checkins::insert_many(conn, &rows),
        db::events::append_many(conn, &events),
        db::clues::reveal_after_targets(conn, &unlocks),
    )?;
    let raced: Vec<usize> = responses
        .iter()
        .filter(|(i, _, has_finds)| *has_finds && !inserted.contains(&pending[*i].id))
        .map(|(i, _, _)| *i)
        .collect();
    if !raced.is_empty() {
        return Err(BatchError::Raced(raced));
    }
    for (i, response, _) in responses {
        if inserted.contains(&pending[i].id) {
            slots[i] = Slot::Stored(response);
        }
    }
    Ok(slots)
}
