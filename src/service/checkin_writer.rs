//! Group commit of check-ins: requests hand their judged check-ins to a few writer tasks, each
//! team's always to the same one (so that two writers of a node never wait for each other's team
//! row locks), and each writer stores everything waiting for it in one transaction (one WAL flush
//! for the lot): hunt revisions checked under a share lock, the rules of a find settled from what
//! the finding teams' locked rows say, then check-in rows written once with their final answers,
//! finds and scores, events. A request is answered only after its transaction committed. A
//! check-in whose key was used or that was judged against an outdated hunt is left out of its
//! batch alone; the batch runs again after a deadlock, a serialization failure or a race lost to
//! another node (`nenufar_checkin_batch_reruns_total`). One batch's transaction is
//! `checkin_commit`; what its claims settle to, `checkin_batch`.

use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use diesel_async::pooled_connection::PoolableConnection;
use diesel_async::pooled_connection::deadpool::Object;
use tokio::sync::{Notify, mpsc, oneshot};

use super::checkin::{CheckinResponse, VerdictTarget};
use crate::db;
use crate::domain::checkin::Fix;
use crate::domain::ids::{CheckinId, HuntId, PlayerId, TeamId};
use crate::error::AppError;
use crate::telemetry::{Metrics, RerunReason};
use tracing::Instrument;

/// Writer tasks per node: while one waits for its flush, the others fill and send theirs. Measured
/// with `ops/bench.sh checkin_http` on 2 cores: 2 writers 3,127/s (latency-bound), 4 writers
/// 3,834-4,727/s, 8 writers 3,886/s with 20 % more PostgreSQL CPU per check-in (smaller batches).
pub const WRITERS: usize = 4;
/// Most check-ins in one transaction.
const MAX_BATCH: usize = 512;
/// Check-ins waiting for one writer before requests wait to hand theirs over (4,096 in all).
const QUEUE: usize = 1024;

/// A judged check-in waiting to be stored.
#[derive(Debug, Clone)]
pub struct Pending {
    pub id: CheckinId,
    pub hunt: HuntId,
    /// The hunt revision the verdict was judged against.
    pub revision: i64,
    pub player: PlayerId,
    pub team: TeamId,
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
pub(super) struct Deps {
    pub(super) pool: db::Pool,
    pub(super) metrics: Arc<Metrics>,
    pub(super) sequencer: Arc<Notify>,
}

/// The node's check-in writer: one queue per writer task and the tasks that drain them (started
/// on first use, inside the runtime that serves requests).
pub struct CheckinWriter {
    queues: Vec<mpsc::Sender<Job>>,
    metrics: Arc<Metrics>,
    idle: Mutex<Option<(Vec<mpsc::Receiver<Job>>, Deps)>>,
}

impl std::fmt::Debug for CheckinWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckinWriter").finish_non_exhaustive()
    }
}

impl CheckinWriter {
    /// A writer storing through `pool`; `sequencer` is woken after commits that appended events.
    pub fn new(pool: db::Pool, metrics: Arc<Metrics>, sequencer: Arc<Notify>) -> Self {
        let (queues, receivers) = (0..WRITERS).map(|_| mpsc::channel(QUEUE)).unzip();
        let deps = Deps {
            pool,
            metrics: metrics.clone(),
            sequencer,
        };
        Self {
            queues,
            metrics,
            idle: Mutex::new(Some((receivers, deps))),
        }
    }

    /// Stores a judged check-in with the others waiting, and says what became of it once its
    /// transaction committed.
    pub async fn write(&self, pending: Pending) -> Result<Written, AppError> {
        self.start();
        let (reply, answer) = oneshot::channel();
        // Counted before the send, so that the writer's decrement always follows it.
        self.metrics.checkin_writer_queue.increment(1.0);
        let queue = &self.queues[writer_of(pending.team)];
        if queue.send(Job { pending, reply }).await.is_err() {
            self.metrics.checkin_writer_queue.decrement(1.0);
            return Err(AppError::Unavailable("check-in writer stopped"));
        }
        answer.await.map_err(|_| {
            AppError::Internal(anyhow::anyhow!("check-in writer dropped a check-in"))
        })?
    }

    fn start(&self) {
        let Some((receivers, deps)) = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        else {
            return;
        };
        for rx in receivers {
            tokio::spawn(drain(rx, deps.clone()));
        }
    }
}

/// The writer of a team's check-ins. All of a team's check-ins go through one writer of a node,
/// so the team row locks a batch takes never wait for another writer of the same node (they still
/// may for another node's): measured at the find-heavy mix of `ops/bench.sh checkin_http`, the
/// wait for team row locks fell from about 300 us to 6 us of wall time per check-in with four
/// writers. A team busier than a writer can store in one batch waits for its own writer, as it
/// would for its row lock.
pub fn writer_of(team: TeamId) -> usize {
    // Team ids are random (v4 UUIDs): their low bits spread teams evenly over the writers.
    (team.0.as_u128() % WRITERS as u128) as usize
}

/// One writer: takes everything waiting for it (up to `MAX_BATCH`) and stores it, until the node
/// stops.
async fn drain(mut rx: mpsc::Receiver<Job>, deps: Deps) {
    loop {
        let mut jobs = Vec::new();
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
    let mut result = super::checkin_commit::write_batch(deps, &mut conn, &pending).await;
    if result.is_err() && conn.is_broken() {
        deps.metrics.rerun(RerunReason::Reconnect);
        match connection(deps).await {
            Some(fresh) => {
                conn = fresh;
                result = super::checkin_commit::write_batch(deps, &mut conn, &pending).await;
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
                let written = super::checkin_commit::write_batch(deps, &mut conn, &[&job.pending])
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

pub(super) fn lost() -> AppError {
    AppError::Internal(anyhow::anyhow!("check-in batch lost a result"))
}
