//! One hunt's feed on this node: starts from the hunt's leaderboard snapshot (if any), reads
//! numbered events after its head, folds them into the boards, keeps recent frames for resumes,
//! and hands each batch of frames to the fan-out pass. A pooled connection is held only while a
//! batch is read, never during a fan-out pass. The hub ends a feed that nobody uses any more.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::json;

use super::boards::{Boards, RankMove};
use super::fanout::{self, Recipient};
use super::send_queue::SendQueue;
use super::snapshot::{self, BoardsState, FeedState};
use super::wire;
use crate::db;
use crate::domain::event::{Audience, Event, EventData, Viewer};
use crate::domain::hunt::Phase;
use crate::domain::ids::{HuntId, TeamId};
use crate::error::AppError;
use crate::telemetry::LiveMetrics;

/// Recent frames kept per hunt for resumes without a database read, and their bytes at most.
const RECENT: usize = 4096;
const RECENT_BYTES: usize = 1024 * 1024;
/// Events folded after which the feed stores a snapshot, at most once per `SNAPSHOT_GAP` (and
/// always when it is evicted), so a new feed folds at most about this many events.
pub const SNAPSHOT_EVERY: usize = 10_000;
const SNAPSHOT_GAP: Duration = Duration::from_secs(60);
/// Events read per database round trip while catching up.
const READ_BATCH: i64 = 2000;

/// A frame ready to send, serialised once (WebSocket header and JSON) for every socket that
/// receives it.
#[derive(Debug, Clone)]
pub struct Frame {
    pub hunt: HuntId,
    pub offset: i64,
    /// Derived frames (`rank_changed`, `leaderboard`) share the offset of the event that caused them.
    pub derived: bool,
    /// Who may receive it.
    pub audience: Audience,
    /// The whole WebSocket frame.
    pub wire: Bytes,
}

/// A session's registration: what it may see and where its frames go.
#[derive(Debug)]
struct Subscriber {
    viewer: Viewer,
    queue: Arc<SendQueue>,
}

#[derive(Debug, Default)]
struct State {
    head: i64,
    /// `recent` holds every event after this offset up to `head`: 0 when the feed folded the
    /// whole log, the snapshot's offset after a snapshot start, then the last frame let go.
    window_start: i64,
    recent: VecDeque<Frame>,
    recent_bytes: usize,
    subscribers: HashMap<u64, Subscriber>,
    /// The subscribers as the fan-out pass walks them, rebuilt after any change.
    recipients: Option<Arc<[Recipient]>>,
    boards: Boards,
    /// The boards as they were when the leaderboard was frozen, and the offset they include.
    frozen: Option<(Boards, i64)>,
    /// The hunt was archived (a `phase_changed` to `archived`).
    archived: bool,
    /// The snapshot was read (or is not to be used).
    started: bool,
    /// The offset of the last snapshot read or stored, the events folded since, and when.
    snapshot_at: i64,
    since_snapshot: usize,
    snapshot_time: Option<Instant>,
    /// The hub let go of this feed: its task ends and nobody may register any more.
    ended: bool,
}

impl State {
    fn recipients(&mut self) -> Arc<[Recipient]> {
        let subscribers = &self.subscribers;
        self.recipients
            .get_or_insert_with(|| {
                subscribers
                    .iter()
                    .map(|(id, s)| Recipient {
                        id: *id,
                        viewer: s.viewer,
                        queue: s.queue.clone(),
                    })
                    .collect()
            })
            .clone()
    }
}

/// A hunt's feed. `catch_up` is the only writer; sessions register and read.
#[derive(Debug)]
pub struct Feed {
    pub hunt: HuntId,
    /// Start from the stored snapshot (tests fold the whole log to compare).
    from_snapshot: bool,
    catching_up: tokio::sync::Mutex<()>,
    wake: tokio::sync::Notify,
    state: Mutex<State>,
    metrics: LiveMetrics,
}

/// What a new session gets: the head at registration and the recent frames after `after`, or
/// `None` when those are older than the recent window (the session reads them from the database).
pub struct Registration {
    pub head: i64,
    pub backlog: Option<Vec<Frame>>,
    /// The client has every event up to here once the backlog is sent.
    pub through: i64,
}

/// The feed was ended by the hub: ask the hub for the hunt's feed again.
#[derive(Debug)]
pub struct Ended;

impl Feed {
    /// A feed that starts from the hunt's snapshot.
    pub fn new(hunt: HuntId) -> Self {
        Self::starting(hunt, true)
    }

    /// A feed that folds the hunt's whole log (to check snapshots against).
    pub fn folding_the_whole_log(hunt: HuntId) -> Self {
        Self::starting(hunt, false)
    }

    fn starting(hunt: HuntId, from_snapshot: bool) -> Self {
        Self {
            hunt,
            from_snapshot,
            catching_up: tokio::sync::Mutex::new(()),
            wake: tokio::sync::Notify::new(),
            state: Mutex::new(State::default()),
            metrics: LiveMetrics::noop(),
        }
    }

    /// The same feed, recording its event lag and fan-out passes in `metrics`.
    pub fn observed(mut self, metrics: LiveMetrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// Asks the feed's task to catch up (wake-ups before it runs coalesce into one).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Waits for a wake-up.
    pub async fn woken(&self) {
        self.wake.notified().await;
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Ends the feed if nobody is subscribed (the hub's eviction, under the hub's lock): nobody
    /// can register after this, and its task stops at its next wake-up. Whether it ended.
    pub fn try_end(&self) -> bool {
        let mut st = self.state();
        if !st.subscribers.is_empty() {
            return false;
        }
        st.ended = true;
        st.recipients = None;
        drop(st);
        self.wake();
        true
    }

    /// The hub let go of this feed.
    pub fn ended(&self) -> bool {
        self.state().ended
    }

    /// The hunt was archived.
    pub fn archived(&self) -> bool {
        self.state().archived
    }

    /// Reads the snapshot once (the first catch-up), then applies every numbered event after the
    /// head, fanning each batch out before reading the next (so every socket gets frames in
    /// offset order). Safe to call from anywhere, any time. Runs in a `feed` span (`hunt.id`).
    #[tracing::instrument(name = "feed", skip_all, fields(hunt.id = %self.hunt))]
    pub async fn catch_up(&self, pool: &db::Pool) -> Result<(), AppError> {
        let _one_at_a_time = self.catching_up.lock().await;
        if !self.state().started {
            self.start(pool).await?;
        }
        loop {
            let head = self.state().head;
            let events =
                crate::service::live::events_after_timed(pool, self.hunt, head, READ_BATCH, None)
                    .await?;
            let n = events.len();
            if n > 0 {
                let (frames, recipients) = {
                    let mut st = self.state();
                    let mut frames = Vec::with_capacity(n);
                    for (e, _) in &events {
                        self.apply(&mut st, e, &mut frames);
                    }
                    (Arc::from(frames), st.recipients())
                };
                let appended: Vec<_> = events.into_iter().map(|(_, at)| at).collect();
                let gone = self.deliver(frames, recipients, &appended).await;
                if !gone.is_empty() {
                    let mut st = self.state();
                    for id in gone {
                        st.subscribers.remove(&id);
                    }
                    st.recipients = None;
                }
            }
            if (n as i64) < READ_BATCH {
                return Ok(());
            }
        }
    }

    /// One fan-out pass, timed, and the lag of each event it delivered (`appended`: the events'
    /// `created_at`); nothing is recorded when nobody is subscribed (see `telemetry`).
    async fn deliver(
        &self,
        frames: Arc<[Frame]>,
        recipients: Arc<[fanout::Recipient]>,
        appended: &[chrono::DateTime<chrono::Utc>],
    ) -> Vec<u64> {
        if recipients.is_empty() {
            return Vec::new();
        }
        let started = Instant::now();
        let gone = fanout::deliver(self.hunt, frames, recipients).await;
        self.metrics
            .fanout_pass
            .record(started.elapsed().as_secs_f64());
        let now = chrono::Utc::now();
        for at in appended {
            let lag = (now - *at).to_std().unwrap_or_default();
            self.metrics.event_lag.record(lag.as_secs_f64());
        }
        gone
    }

    async fn start(&self, pool: &db::Pool) -> Result<(), AppError> {
        let stored = if self.from_snapshot {
            snapshot::load(pool, self.hunt).await?
        } else {
            None
        };
        let mut st = self.state();
        if let Some((through, state)) = stored {
            st.boards = state.boards.into_boards();
            st.frozen = state.frozen.map(|(b, offset)| (b.into_boards(), offset));
            st.archived = state.archived;
            st.head = through;
            // Nothing before the snapshot is in memory: older resumes read the log.
            st.window_start = through;
            st.snapshot_at = through;
        }
        st.snapshot_time = Some(Instant::now());
        st.started = true;
        Ok(())
    }

    /// Whether enough was folded since the last snapshot to store another.
    pub fn snapshot_due(&self) -> bool {
        let st = self.state();
        st.since_snapshot >= SNAPSHOT_EVERY
            && st.snapshot_time.is_none_or(|t| t.elapsed() >= SNAPSHOT_GAP)
    }

    /// Stores the feed's state as the hunt's snapshot if it folded anything since the last one.
    pub async fn store_snapshot(&self, pool: &db::Pool) -> Result<(), AppError> {
        let (through, folded, state) = {
            let st = self.state();
            if !st.started || st.head <= st.snapshot_at {
                return Ok(());
            }
            (st.head, st.since_snapshot, self.feed_state(&st))
        };
        snapshot::store(pool, self.hunt, through, &state).await?;
        let mut st = self.state();
        if through > st.snapshot_at {
            // Events folded meanwhile count towards the next snapshot.
            st.since_snapshot -= folded.min(st.since_snapshot);
            st.snapshot_at = through;
            st.snapshot_time = Some(Instant::now());
        }
        Ok(())
    }

    fn feed_state(&self, st: &State) -> FeedState {
        FeedState {
            boards: BoardsState::of(&st.boards),
            frozen: st
                .frozen
                .as_ref()
                .map(|(b, offset)| (BoardsState::of(b), *offset)),
            archived: st.archived,
        }
    }

    /// The feed's state as a snapshot would store it, and the last offset it includes.
    pub fn state_now(&self) -> (i64, FeedState) {
        let st = self.state();
        (st.head, self.feed_state(&st))
    }

    /// Folds one event into the state; appends its frame and the frames it causes to `out`.
    fn apply(&self, st: &mut State, e: &Event, out: &mut Vec<Frame>) {
        st.head = e.offset;
        st.since_snapshot += 1;
        let moves = st.boards.apply(e);
        match &e.data {
            EventData::LeaderboardFrozen {} => st.frozen = Some((st.boards.clone(), e.offset)),
            EventData::LeaderboardUnfrozen {} => st.frozen = None,
            EventData::PhaseChanged { phase, .. } => st.archived = *phase == Phase::Archived,
            _ => {}
        }
        // Names as this node knows them now (the boards folded this event already).
        let frame = Frame {
            hunt: self.hunt,
            offset: e.offset,
            derived: false,
            audience: e.audience,
            wire: wire::text(&e.wire(&st.boards)),
        };
        st.recent_bytes += frame.wire.len();
        st.recent.push_back(frame.clone());
        while st.recent.len() > RECENT || st.recent_bytes > RECENT_BYTES {
            let Some(old) = st.recent.pop_front() else {
                break;
            };
            st.recent_bytes -= old.wire.len();
            st.window_start = old.offset;
        }
        out.push(frame);
        if st.frozen.is_none() {
            if let Some(moved) = moves.first() {
                let teams: HashSet<TeamId> = st
                    .subscribers
                    .values()
                    .filter_map(|s| match s.viewer {
                        Viewer::Player { team, .. } => team,
                        Viewer::Staff => None,
                    })
                    .collect();
                out.push(rank_frame(self.hunt, e.offset, moved));
                for t in teams {
                    if let Some(m) = st.boards.shifted(moved, t) {
                        out.push(rank_frame(self.hunt, e.offset, &m));
                    }
                }
            }
            if matches!(e.data, EventData::LeaderboardUnfrozen {}) {
                out.push(board_frame(self.hunt, e.offset, &st.boards));
            }
        }
    }

    /// Registers a session that has seen everything up to `after` (`None`: live events only).
    /// Its queue holds live frames from now on until the session has sent `subscribed` and the
    /// backlog (see [`SendQueue::release`]). `Ended` if the hub let go of this feed meanwhile.
    pub fn register(
        &self,
        id: u64,
        viewer: Viewer,
        after: Option<i64>,
        queue: Arc<SendQueue>,
    ) -> Result<Registration, Ended> {
        let mut st = self.state();
        if st.ended {
            return Err(Ended);
        }
        let head = st.head;
        let backlog = match after {
            None => Some(Vec::new()),
            Some(after) => window(&st, after, head, &viewer),
        };
        let through = after.map_or(head, |a| a.max(head));
        queue.hold(self.hunt, after.unwrap_or(head), through);
        st.subscribers.insert(id, Subscriber { viewer, queue });
        st.recipients = None;
        Ok(Registration {
            head,
            backlog,
            through,
        })
    }

    /// The frames `viewer` may see after `after` up to `upto`, if the recent window has them all.
    pub fn window(&self, after: i64, upto: i64, viewer: &Viewer) -> Option<Vec<Frame>> {
        window(&self.state(), after, upto, viewer)
    }

    /// The frame of an event read from the log, with the names this node shows now (resumes
    /// older than the recent window).
    pub fn wire_of(&self, e: &Event) -> String {
        e.wire(&self.state().boards)
    }

    /// Forgets a session.
    pub fn unregister(&self, id: u64) {
        let mut st = self.state();
        if st.subscribers.remove(&id).is_some() {
            // Also lets go of the queue, so the socket closes when its session ends.
            st.recipients = None;
        }
    }

    /// Number of sessions subscribed here.
    pub fn subscribers(&self) -> usize {
        self.state().subscribers.len()
    }

    /// Reads the boards players see (the frozen copy while frozen), whether they are frozen, and
    /// the last offset they include.
    pub fn with_boards<R>(&self, f: impl FnOnce(&Boards, bool, i64) -> R) -> R {
        let st = self.state();
        match &st.frozen {
            Some((frozen, offset)) => f(frozen, true, *offset),
            None => f(&st.boards, false, st.head),
        }
    }

    /// Reads the live boards (staff always see them), whether players see a frozen copy, and the
    /// last offset they include.
    pub fn with_live_boards<R>(&self, f: impl FnOnce(&Boards, bool, i64) -> R) -> R {
        let st = self.state();
        f(&st.boards, st.frozen.is_some(), st.head)
    }

    /// The last offset applied.
    pub fn head(&self) -> i64 {
        self.state().head
    }
}

fn window(st: &State, after: i64, upto: i64, viewer: &Viewer) -> Option<Vec<Frame>> {
    if after >= upto {
        return Some(Vec::new());
    }
    (after >= st.window_start).then(|| {
        st.recent
            .iter()
            .filter(|f| f.offset > after && f.offset <= upto && f.audience.admits(viewer))
            .cloned()
            .collect()
    })
}

fn rank_frame(hunt: HuntId, offset: i64, m: &RankMove) -> Frame {
    let text = json!({"type": "event", "hunt_id": hunt, "offset": offset, "kind": "rank_changed",
        "data": {"team_id": m.team, "rank": m.rank, "previous_rank": m.previous_rank}})
    .to_string();
    Frame {
        hunt,
        offset,
        derived: true,
        audience: Audience::Team(m.team),
        wire: wire::text(&text),
    }
}

/// The `leaderboard` message sent with an unfreeze: the top 20 of the team board, each entry named
/// as in `GET .../leaderboard` (`kind` is that endpoint's `kind`: always `team` here).
fn board_frame(hunt: HuntId, offset: i64, boards: &Boards) -> Frame {
    let entries: Vec<_> = boards
        .team_page(0, 20)
        .into_iter()
        .map(|(s, name)| json!({"rank": s.rank, "name": name, "score": s.score, "id": s.member}))
        .collect();
    let text = json!({"type": "leaderboard", "hunt_id": hunt, "offset": offset, "kind": "team", "entries": entries, "frozen": false})
        .to_string();
    Frame {
        hunt,
        offset,
        derived: true,
        audience: Audience::Hunt,
        wire: wire::text(&text),
    }
}
