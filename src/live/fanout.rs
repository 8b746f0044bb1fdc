//! The fan-out pass: hands a batch of a hunt's frames to every subscriber allowed to see them,
//! spread over the node's cores. Each frame was serialised once; an idle socket gets it with one
//! non-blocking write from here, without waking its session (see `queue`).

use std::sync::Arc;
use std::sync::OnceLock;

use super::feed::Frame;
use super::send_queue::{Offer, SendQueue};
use crate::domain::event::{Audience, Viewer};
use crate::domain::ids::HuntId;

/// Subscribers below which one thread writes them all (a hand-off costs more than it saves).
const MIN_PER_SHARD: usize = 512;

/// A subscribed socket as the pass sees it: who it is (what it may see) and its write queue.
#[derive(Debug)]
pub struct Recipient {
    pub id: u64,
    pub viewer: Viewer,
    pub queue: Arc<SendQueue>,
}

fn cores() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Offers `frames` (in offset order) to every recipient; returns the ids of those that are gone
/// (too far behind, or their connection failed), for the feed to forget. Every recipient has been
/// offered the whole batch when this returns, so the next batch cannot overtake it.
pub async fn deliver(hunt: HuntId, frames: Arc<[Frame]>, targets: Arc<[Recipient]>) -> Vec<u64> {
    if frames.is_empty() || targets.is_empty() {
        return Vec::new();
    }
    let shards = cores().min(targets.len() / MIN_PER_SHARD).max(1);
    if shards == 1 {
        return pass(hunt, &frames, &targets);
    }
    let per_shard = targets.len().div_ceil(shards);
    // The other shards run on blocking threads; this task writes the first one meanwhile.
    let others: Vec<_> = (1..shards)
        .map(|k| {
            let (frames, targets) = (frames.clone(), targets.clone());
            tokio::task::spawn_blocking(move || {
                let end = ((k + 1) * per_shard).min(targets.len());
                pass(hunt, &frames, &targets[k * per_shard..end])
            })
        })
        .collect();
    let mut gone = pass(hunt, &frames, &targets[..per_shard]);
    for shard in others {
        match shard.await {
            Ok(g) => gone.extend(g),
            Err(e) => tracing::error!(hunt.id = %hunt, error = ?e, "a fan-out shard failed"),
        }
    }
    gone
}

/// One thread's share of a pass.
fn pass(hunt: HuntId, frames: &[Frame], targets: &[Recipient]) -> Vec<u64> {
    let mut gone = Vec::new();
    let hunt_wide = frames.iter().all(|f| f.audience == Audience::Hunt);
    let all: Vec<&Frame> = frames.iter().collect();
    let mut visible: Vec<&Frame> = Vec::with_capacity(frames.len());
    for t in targets {
        let offered = if hunt_wide {
            t.queue.offer(hunt, &all)
        } else {
            visible.clear();
            visible.extend(frames.iter().filter(|f| f.audience.admits(&t.viewer)));
            if visible.is_empty() {
                continue;
            }
            t.queue.offer(hunt, &visible)
        };
        if offered == Offer::Gone {
            gone.push(t.id);
        }
    }
    gone
}
