//! The outbox dispatcher's round: expand new push jobs to one notification per device (see
//! `db::push_outbox::expand`), claim due notifications with a lease (no lock held across the
//! HTTP calls), send them concurrently, then settle each by its outcome: delivered, refused or
//! expired rows are deleted, gone subscriptions pruned, 429/5xx retried with exponential backoff
//! (honouring `Retry-After`) until the TTL runs out, unknown outcomes left to their lease.
//! Ages, TTLs and retry times are read on the node's `Clock`; the lease is PostgreSQL's (see
//! `clock`).

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;

use super::send::{self, Message, Outcome};
use super::{Push, PushOutcome};
use crate::clock::Clock;
use crate::db;
use crate::db::push_outbox::Claimed;
use crate::domain::event::{EventData, NameMap};
use crate::domain::push::{self, Category};

/// Push jobs (events) expanded to devices per round.
pub const EXPAND: i64 = 1000;
/// Notifications claimed per round.
pub const BATCH: i64 = 256;
/// Sends in flight at once per node.
const CONCURRENCY: usize = 64;
/// How long a claim lasts: longer than a send may take (`send::TIMEOUT`), so only a send whose
/// outcome is unknown (or a node that died) lets a notification be claimed again.
pub const LEASE: Duration = Duration::from_secs(60);
/// First retry delay; doubled per attempt, at most `MAX_BACKOFF`.
const FIRST_BACKOFF: Duration = Duration::from_secs(2);
const MAX_BACKOFF: Duration = Duration::from_secs(10 * 60);

/// What one round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    /// Push jobs (events) expanded to devices.
    pub expanded: usize,
    pub claimed: usize,
    pub sent: usize,
}

impl Round {
    /// Whether work was left for the next round (a full expansion or claim).
    pub fn full(&self) -> bool {
        self.expanded as i64 == EXPAND || self.claimed as i64 == BATCH
    }
}

/// Expands new push jobs, then (with a VAPID `subject`) claims, sends and settles one batch. A
/// node without a subject only expands: notifications wait for a node that sends.
pub async fn round(
    push: &Push,
    pool: &db::Pool,
    subject: Option<&str>,
    clock: &dyn Clock,
) -> anyhow::Result<Round> {
    let (expanded, claimed) = {
        let mut conn = pool.get().await?;
        let expanded = db::push_outbox::expand(&mut conn, EXPAND, clock.now()).await?;
        let claimed = match subject {
            Some(_) => {
                let lease_s = LEASE.as_secs() as i64;
                db::push_outbox::claim(&mut conn, BATCH, lease_s, clock.now()).await?
            }
            None => Vec::new(),
        };
        let names = names_of(&mut conn, &claimed).await?;
        (expanded, (claimed, names))
    };
    let (claimed, names) = claimed;
    tracing::Span::current()
        .record("push.expanded", expanded.jobs)
        .record("push.claimed", claimed.len());
    let Some(subject) = subject.filter(|_| !claimed.is_empty()) else {
        return Ok(Round {
            expanded: expanded.jobs as usize,
            claimed: 0,
            sent: 0,
        });
    };
    let vapid = push.vapid(pool).await?;
    let sender = push.sender()?;
    let mut round = Round {
        expanded: expanded.jobs as usize,
        claimed: claimed.len(),
        sent: 0,
    };
    let names = &names;
    let sends = futures_util::stream::iter(claimed)
        .map(|row| async move {
            let outcome = deliver(sender, vapid, subject, &row, names, clock.now()).await;
            (row, outcome)
        })
        .buffer_unordered(CONCURRENCY)
        .ready_chunks(CONCURRENCY);
    let mut sends = std::pin::pin!(sends);
    while let Some(done) = sends.next().await {
        round.sent += done
            .iter()
            .filter(|(_, o)| *o == Some(Outcome::Delivered))
            .count();
        record_outcomes(push, pool, done, clock.now()).await?;
    }
    Ok(round)
}

/// The current names of the teams and players the claimed notifications show (one read).
async fn names_of(
    conn: &mut diesel_async::AsyncPgConnection,
    claimed: &[Claimed],
) -> anyhow::Result<NameMap> {
    let (mut teams, mut players) = (Vec::new(), Vec::new());
    for row in claimed {
        if let Ok(event) = EventData::from_stored(&row.kind, row.data.clone()) {
            let (team, player) = event.named();
            teams.extend(team);
            players.extend(player);
        }
    }
    if teams.is_empty() && players.is_empty() {
        return Ok(NameMap::default());
    }
    teams.sort_unstable();
    teams.dedup();
    players.sort_unstable();
    players.dedup();
    Ok(db::push_outbox::names(conn, &teams, &players).await?)
}

/// Sends one claimed notification at `now`; `None` when it expired or cannot be pushed (settled
/// unsent).
async fn deliver(
    sender: &send::Sender,
    vapid: &super::vapid::Vapid,
    subject: &str,
    row: &Claimed,
    names: &NameMap,
    now: DateTime<Utc>,
) -> Option<Outcome> {
    let category = Category::parse(&row.category)?;
    let event = EventData::from_stored(&row.kind, row.data.clone()).ok()?;
    let age_s = (now - row.created_at).num_seconds().max(0);
    let ttl_left = i64::from(category.ttl_s()) - age_s;
    if ttl_left <= 0 {
        return None;
    }
    let payload = push::payload(
        category,
        row.hunt(),
        &row.hunt_title,
        row.event_offset,
        &event,
        names,
    )?;
    let topic = category
        .collapses()
        .then(|| send::topic(&format!("{}:{}", category.as_str(), row.hunt_id)));
    let message = Message {
        endpoint: &row.endpoint,
        p256dh: &row.p256dh,
        auth: &row.auth,
        payload: payload.to_string().into_bytes(),
        ttl_s: u32::try_from(ttl_left).unwrap_or(0),
        urgency: category.urgency(),
        topic,
    };
    Some(sender.send(vapid, subject, message, now).await)
}

/// Records the outcomes of a group of sends, known at `now`, in a few statements.
async fn record_outcomes(
    push: &Push,
    pool: &db::Pool,
    done: Vec<(Claimed, Option<Outcome>)>,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let m = &push.metrics;
    let (mut delete, mut prune, mut retry_ids, mut retry_ms) = (vec![], vec![], vec![], vec![]);
    for (row, outcome) in done {
        match outcome {
            Some(Outcome::Delivered) => {
                m.count(PushOutcome::Sent, 1);
                delete.push(row.id);
            }
            Some(Outcome::Gone) => {
                m.count(PushOutcome::Gone, 1);
                prune.push(row.subscription_id);
            }
            Some(Outcome::Rejected(status)) => {
                tracing::warn!(push.status = status, push.category = %row.category, "a push service refused a notification; dropped");
                m.count(PushOutcome::Rejected, 1);
                delete.push(row.id);
            }
            Some(Outcome::Retry(after)) => match backoff(&row, after, now) {
                Some(delay) => {
                    m.count(PushOutcome::Retry, 1);
                    retry_ids.push(row.id);
                    retry_ms.push(delay.as_millis() as i64);
                }
                None => {
                    m.count(PushOutcome::Failed, 1);
                    delete.push(row.id);
                }
            },
            Some(Outcome::Unknown) => {
                m.count(PushOutcome::Unknown, 1);
            }
            // Expired before it could be sent, or not a pushable event.
            None => {
                m.count(PushOutcome::Expired, 1);
                delete.push(row.id);
            }
        }
    }
    let mut conn = pool.get().await?;
    db::push_outbox::delete_settled(&mut conn, &delete).await?;
    db::push::prune(&mut conn, &prune).await?;
    db::push_outbox::retry(&mut conn, &retry_ids, &retry_ms, now).await?;
    Ok(())
}

/// The delay before the next attempt from `now`, or `None` when it would come after the TTL.
fn backoff(row: &Claimed, retry_after: Option<Duration>, now: DateTime<Utc>) -> Option<Duration> {
    let category = Category::parse(&row.category)?;
    let exponent = u32::try_from(row.attempts.max(1) - 1).unwrap_or(0).min(16);
    let doubling = FIRST_BACKOFF.saturating_mul(1 << exponent).min(MAX_BACKOFF);
    let delay = retry_after.map_or(doubling, |r| r.max(doubling));
    let expires = row.created_at + chrono::Duration::seconds(i64::from(category.ttl_s()));
    let next = now + chrono::Duration::from_std(delay).ok()?;
    (next < expires).then_some(delay)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Any fixed instant: the rule depends on ages only.
    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_790_000_000, 0).unwrap()
    }

    fn row(attempts: i32, age_s: i64, category: &str) -> Claimed {
        Claimed {
            id: 1,
            category: category.into(),
            created_at: now() - chrono::Duration::seconds(age_s),
            attempts,
            hunt_id: uuid::Uuid::nil(),
            hunt_title: "Paris".into(),
            event_offset: 1,
            kind: "broadcast".into(),
            data: serde_json::json!({}),
            subscription_id: 1,
            endpoint: "https://push.example.net/x".into(),
            p256dh: vec![],
            auth: vec![],
        }
    }

    #[test]
    fn backoff_doubles_honours_retry_after_and_stops_at_the_ttl() {
        assert_eq!(
            backoff(&row(1, 0, "clue"), None, now()),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            backoff(&row(3, 0, "clue"), None, now()),
            Some(Duration::from_secs(8))
        );
        assert_eq!(backoff(&row(30, 0, "clue"), None, now()), Some(MAX_BACKOFF));
        let asked = Some(Duration::from_secs(120));
        assert_eq!(
            backoff(&row(1, 0, "clue"), asked, now()),
            Some(Duration::from_secs(120))
        );
        // A rank change lives 10 minutes: a retry 9 minutes in would land after it expired.
        assert_eq!(backoff(&row(9, 9 * 60, "rank"), None, now()), None);
        assert_eq!(
            backoff(&row(1, 0, "rank"), Some(Duration::from_secs(3600)), now()),
            None
        );
    }
}
