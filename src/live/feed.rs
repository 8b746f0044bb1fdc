//! One hunt's feed on this node: reads numbered events after its head, folds them into the
//! boards, keeps recent frames for resumes, and hands each batch of frames to the fan-out pass.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use serde_json::json;

use super::boards::{Boards, RankMove};
use super::fanout::{self, Target};
use super::outbox::Outbox;
use super::wire;
use crate::db;
use crate::domain::event::{Event, EventKind};
use crate::domain::ids::{HuntId, TeamId};
use crate::error::AppError;

/// Recent frames kept per hunt for resumes without a database read.
const RECENT: usize = 4096;
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
    pub team: Option<TeamId>,
    /// The whole WebSocket frame.
    pub wire: Bytes,
}

/// A session's registration: what it may see and where its frames go.
#[derive(Debug)]
struct Subscriber {
    team: Option<TeamId>,
    outbox: Arc<Outbox>,
}

#[derive(Debug, Default)]
struct State {
    head: i64,
    recent: VecDeque<Frame>,
    subscribers: HashMap<u64, Subscriber>,
    /// The subscribers as the fan-out pass walks them, rebuilt after any change.
    targets: Option<Arc<[Target]>>,
    boards: Boards,
    /// The boards as they were when the leaderboard was frozen, and the offset they include.
    frozen: Option<(Boards, i64)>,
}

impl State {
    fn targets(&mut self) -> Arc<[Target]> {
        let subscribers = &self.subscribers;
        self.targets
            .get_or_insert_with(|| {
                subscribers
                    .iter()
                    .map(|(id, s)| Target {
                        id: *id,
                        team: s.team,
                        outbox: s.outbox.clone(),
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
    catching_up: tokio::sync::Mutex<()>,
    wake: tokio::sync::Notify,
    state: Mutex<State>,
}

/// What a new session gets: the head at registration and the recent frames after `after`, or
/// `None` when those are older than the recent window (the session reads them from the database).
pub struct Registration {
    pub head: i64,
    pub backlog: Option<Vec<Frame>>,
    /// The client has every event up to here once the backlog is sent.
    pub through: i64,
}

impl Feed {
    pub fn new(hunt: HuntId) -> Self {
        Self {
            hunt,
            catching_up: tokio::sync::Mutex::new(()),
            wake: tokio::sync::Notify::new(),
            state: Mutex::new(State::default()),
        }
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

    /// Reads and applies every numbered event after the head, and fans each batch out before
    /// reading the next (so every socket gets frames in offset order). Safe to call from anywhere,
    /// any time.
    pub async fn catch_up(&self, pool: &db::Pool) -> Result<(), AppError> {
        let _one_at_a_time = self.catching_up.lock().await;
        let mut conn = pool.get().await?;
        loop {
            let head = self.state().head;
            let events = db::events::read(&mut conn, self.hunt, head, READ_BATCH, None).await?;
            let n = events.len();
            if n > 0 {
                let (frames, targets) = {
                    let mut st = self.state();
                    let mut frames = Vec::with_capacity(n);
                    for e in &events {
                        self.apply(&mut st, e, &mut frames);
                    }
                    (Arc::from(frames), st.targets())
                };
                let gone = fanout::deliver(self.hunt, frames, targets).await;
                if !gone.is_empty() {
                    let mut st = self.state();
                    for id in gone {
                        st.subscribers.remove(&id);
                    }
                    st.targets = None;
                }
            }
            if (n as i64) < READ_BATCH {
                return Ok(());
            }
        }
    }

    /// Folds one event into the state; appends its frame and the frames it causes to `out`.
    fn apply(&self, st: &mut State, e: &Event, out: &mut Vec<Frame>) {
        st.head = e.offset;
        let moves = st.boards.apply(e);
        match e.kind {
            EventKind::LeaderboardFrozen => st.frozen = Some((st.boards.clone(), e.offset)),
            EventKind::LeaderboardUnfrozen => st.frozen = None,
            _ => {}
        }
        let frame = Frame {
            hunt: self.hunt,
            offset: e.offset,
            derived: false,
            team: e.team,
            wire: wire::text(&e.frame()),
        };
        if st.recent.len() == RECENT {
            st.recent.pop_front();
        }
        st.recent.push_back(frame.clone());
        out.push(frame);
        if st.frozen.is_none() {
            if let Some(moved) = moves.first() {
                let teams: HashSet<TeamId> =
                    st.subscribers.values().filter_map(|s| s.team).collect();
                out.push(rank_frame(self.hunt, e.offset, moved));
                for t in teams {
                    if let Some(m) = st.boards.shifted(moved, t) {
                        out.push(rank_frame(self.hunt, e.offset, &m));
                    }
                }
            }
            if e.kind == EventKind::LeaderboardUnfrozen {
                out.push(board_frame(self.hunt, e.offset, &st.boards));
            }
        }
    }

    /// Registers a session that has seen everything up to `after` (`None`: live events only).
    /// Its outbox holds live frames from now on until the session has sent `subscribed` and the
    /// backlog (see [`Outbox::release`]).
    pub fn register(
        &self,
        id: u64,
        team: Option<TeamId>,
        after: Option<i64>,
        outbox: Arc<Outbox>,
    ) -> Registration {
        let mut st = self.state();
        let head = st.head;
        let backlog = match after {
            None => Some(Vec::new()),
            Some(after) if after >= head => Some(Vec::new()),
            Some(after) => {
                let oldest_kept = st.recent.front().map_or(head + 1, |f| f.offset);
                // The window is complete after `after` if it starts at or before the next offset
                // (offsets skip, so "before" means nothing between `after` and the window is missing).
                let complete = st.recent.len() < RECENT || oldest_kept <= after + 1;
                complete.then(|| {
                    st.recent
                        .iter()
                        .filter(|f| f.offset > after && (f.team.is_none() || f.team == team))
                        .cloned()
                        .collect()
                })
            }
        };
        let through = after.map_or(head, |a| a.max(head));
        outbox.hold(self.hunt, after.unwrap_or(head), through);
        st.subscribers.insert(id, Subscriber { team, outbox });
        st.targets = None;
        Registration {
            head,
            backlog,
            through,
        }
    }

    /// Forgets a session.
    pub fn unregister(&self, id: u64) {
        let mut st = self.state();
        if st.subscribers.remove(&id).is_some() {
            // Also lets go of the outbox, so the socket closes when its session ends.
            st.targets = None;
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

    /// Reads the live boards (staff always see them).
    pub fn with_live_boards<R>(&self, f: impl FnOnce(&Boards) -> R) -> R {
        f(&self.state().boards)
    }

    /// The last offset applied.
    pub fn head(&self) -> i64 {
        self.state().head
    }
}

fn rank_frame(hunt: HuntId, offset: i64, m: &RankMove) -> Frame {
    let text = json!({"type": "event", "hunt_id": hunt, "offset": offset, "kind": "rank_changed",
        "data": {"team_id": m.team, "rank": m.rank, "previous_rank": m.previous_rank}})
    .to_string();
    Frame {
        hunt,
        offset,
        derived: true,
        team: Some(m.team),
        wire: wire::text(&text),
    }
}

fn board_frame(hunt: HuntId, offset: i64, boards: &Boards) -> Frame {
    let entries: Vec<_> = boards
        .team_page(0, 20)
        .into_iter()
        .map(|(s, name)| json!({"rank": s.rank, "team_id": s.member, "name": name, "score": s.score}))
        .collect();
    let text = json!({"type": "leaderboard", "hunt_id": hunt, "offset": offset, "kind": "team", "entries": entries, "frozen": false})
        .to_string();
    Frame {
        hunt,
        offset,
        derived: true,
        team: None,
        wire: wire::text(&text),
    }
}
