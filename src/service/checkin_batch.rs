//! What a batch of check-ins settles to, between the writer's two round trips: the teams to lock,
//! and for each claimed check-in (one that matched targets) its answer, its finds, and the events
//! and clue unlocks of its finds, as the rules of a find (`domain::find`) decide them.

use std::collections::HashMap;

use super::checkin::{CheckinResponse, VerdictTarget};
use super::checkin_writer::Pending;
use crate::db::checkin_writes::{LockedHunt, NewFind};
use crate::db::clues::Unlock;
use crate::domain::event::{NewEvent, ScoreChanged, TargetFound};
use crate::domain::find::{self, Before, Claim};
use crate::domain::ids::{HuntId, TeamId};

/// Teams of the check-ins that matched a target: their rows get locked, in id order.
pub(super) fn finding_teams(pending: &[&Pending]) -> Vec<TeamId> {
    let mut finding: Vec<TeamId> = pending
        .iter()
        .filter(|p| !p.matched.is_empty())
        .map(|p| p.team)
        .collect();
    finding.sort();
    finding.dedup();
    finding
}

/// What the claimed check-ins of a batch settle to.
#[derive(Debug, Default)]
pub(super) struct Settled {
    /// Each claimed check-in's answer, by its index in the batch.
    pub responses: Vec<(usize, CheckinResponse)>,
    /// The finds to record.
    pub finds: Vec<NewFind>,
    pub events: Vec<(HuntId, NewEvent)>,
    pub unlocks: Vec<Unlock>,
}

/// Settles the claimed check-ins (indices into `pending`, in batch order) by the rules of a find
/// (`domain::find`) from what the database held before the batch (`before`, read under the teams'
/// row locks): each answer carries its own step of the team's score.
pub(super) fn settle_claims(
    pending: &[&Pending],
    claimed: &[usize],
    locked: &HashMap<HuntId, LockedHunt>,
    before: Before,
) -> Settled {
    let claims: Vec<Claim> = claimed
        .iter()
        .map(|&i| {
            let p = pending[i];
            Claim {
                checkin: p.id,
                hunt: p.hunt,
                team: p.team,
                player: p.player,
                matched: p.matched.iter().map(|t| (t.id, t.points)).collect(),
            }
        })
        .collect();
    let settlements = find::settle(&claims, before);
    let mut settled = Settled::default();
    for (&i, s) in claimed.iter().zip(settlements) {
        let p = pending[i];
        let found: Vec<VerdictTarget> = p
            .matched
            .iter()
            .filter(|t| s.found.iter().any(|(id, _)| *id == t.id))
            .cloned()
            .collect();
        let response = CheckinResponse {
            verdict: s.verdict,
            reason: None,
            targets: if found.is_empty() {
                p.matched.clone()
            } else {
                found.clone()
            },
            team_score: s.team_score,
            ..p.base.clone()
        };
        if let Some(player_score) = s.player_score {
            let frozen = locked.get(&p.hunt).is_some_and(|h| h.frozen);
            let scores = Scores {
                team: s.team_score,
                player: player_score,
                delta: s.delta,
            };
            settled.events.extend(
                find_events(p, &found, scores, frozen)
                    .into_iter()
                    .map(|e| (p.hunt, e)),
            );
            settled.unlocks.extend(found.iter().map(|t| Unlock {
                hunt: p.hunt,
                team: p.team,
                target: t.id,
                at: p.received_at,
            }));
            settled
                .finds
                .extend(s.found.iter().map(|&(target, points)| NewFind {
                    checkin: p.id,
                    hunt: p.hunt,
                    team: p.team,
                    player: p.player,
                    target,
                    points,
                    found_at: p.received_at,
                }));
        }
        settled.responses.push((i, response));
    }
    settled
}

/// Scores after one check-in's finds.
#[derive(Debug, Clone, Copy)]
struct Scores {
    team: i64,
    player: i64,
    delta: i64,
}

/// One `target_found` per new find and one `score_changed` (audiences: `NewEvent`'s rules).
fn find_events(p: &Pending, found: &[VerdictTarget], s: Scores, frozen: bool) -> Vec<NewEvent> {
    let team = p.team;
    let mut events: Vec<NewEvent> = found
        .iter()
        .map(|t| {
            NewEvent::target_found(TargetFound {
                team_id: team,
                target_id: t.id,
                name: t.name.clone(),
                points: t.points,
                player_id: p.player,
            })
        })
        .collect();
    events.push(NewEvent::score_changed(
        ScoreChanged {
            team_id: team,
            score: s.team,
            delta: s.delta,
            player_id: Some(p.player),
            player_score: Some(s.player),
        },
        frozen,
    ));
    events
}
