//! What a batch of check-ins settles to, decided in memory between the writer's two round trips:
//! the teams to lock, each finder's score before the batch, and for each claimed check-in (one that
//! matched targets) its answer, the fill of its row, and the events and clue unlocks of its finds.

use std::collections::{HashMap, HashSet};

use super::checkin::{CheckinResponse, VerdictTarget};
use super::checkin_writer::Pending;
use crate::db::checkin_writes::{Fill, LockedHunt, NewFind};
use crate::db::clues::Unlock;
use crate::domain::checkin;
use crate::domain::event::{NewEvent, ScoreChanged, TargetFound};
use crate::domain::ids::{CheckinId, HuntId, PlayerId, TargetId, TeamId};

/// Teams of the check-ins that matched a target: their rows get locked, in id order.
pub(super) fn finding_teams(pending: &[&Pending]) -> Vec<TeamId> {
    let mut finding: Vec<TeamId> = pending
        .iter()
        .filter(|p| !p.matched.is_empty())
        .map(|p| p.member.team)
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
    /// The final verdicts and responses of their rows.
    pub fills: Vec<Fill>,
    pub events: Vec<(HuntId, NewEvent)>,
    pub unlocks: Vec<Unlock>,
}

/// Settles the claimed check-ins (indices into `pending`, in batch order) from the teams' scores
/// before the batch (`team_scores`, locked) and the finds the batch recorded: each answer carries
/// its own step of the team's score.
pub(super) fn settle_claims(
    pending: &[&Pending],
    claimed: &[usize],
    locked: &HashMap<HuntId, LockedHunt>,
    mut team_scores: HashMap<TeamId, i64>,
    new_finds: &[NewFind],
) -> Result<Settled, serde_json::Error> {
    let mut new_by_checkin: HashMap<CheckinId, HashSet<TargetId>> = HashMap::new();
    for f in new_finds {
        new_by_checkin
            .entry(f.checkin)
            .or_default()
            .insert(f.target);
    }
    let mut player_scores = player_scores_before(pending, claimed, new_finds, &new_by_checkin);
    let mut settled = Settled::default();
    for &i in claimed {
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
            let frozen = locked.get(&p.hunt).is_some_and(|h| h.frozen);
            let scores = Scores {
                team: *team_score,
                player: *player_score,
                delta,
            };
            settled.events.extend(
                find_events(p, &found, scores, frozen)
                    .into_iter()
                    .map(|e| (p.hunt, e)),
            );
            settled.unlocks.extend(found.iter().map(|t| Unlock {
                hunt: p.hunt,
                team: p.member.team,
                target: t.id,
                at: p.received_at,
            }));
        }
        settled.fills.push(Fill {
            id: p.id,
            verdict: response.verdict,
            response: super::checkin_stored::encode(&response)?,
        });
        settled.responses.push((i, response));
    }
    Ok(settled)
}

/// Each finder's score before this batch: the score after it (returned by the finds statement)
/// minus the batch's new points for that player.
fn player_scores_before(
    pending: &[&Pending],
    claimed: &[usize],
    new_finds: &[NewFind],
    new_by_checkin: &HashMap<CheckinId, HashSet<TargetId>>,
) -> HashMap<(HuntId, PlayerId), i64> {
    let by_id: HashMap<CheckinId, &Pending> = claimed
        .iter()
        .map(|&i| (pending[i].id, pending[i]))
        .collect();
    let mut scores: HashMap<(HuntId, PlayerId), i64> = HashMap::new();
    for f in new_finds {
        if let Some(p) = by_id.get(&f.checkin) {
            scores.insert((p.hunt, p.player), f.player_score_after_batch);
        }
    }
    for &i in claimed {
        let p = pending[i];
        if let Some(news) = new_by_checkin.get(&p.id) {
            let points: i64 = p
                .matched
                .iter()
                .filter(|t| news.contains(&t.id))
                .map(|t| i64::from(t.points))
                .sum();
            if let Some(s) = scores.get_mut(&(p.hunt, p.player)) {
                *s -= points;
            }
        }
    }
    scores
}

/// The final answer of a check-in that matched targets: `found` with the new targets,
/// `already_found` with the matched ones the team had; with the team's score after it.
fn settle(p: &Pending, found: Vec<VerdictTarget>, team_score: i64) -> CheckinResponse {
    let matched: Vec<TargetId> = p.matched.iter().map(|t| t.id).collect();
    let new: Vec<TargetId> = found.iter().map(|t| t.id).collect();
    let verdict = checkin::settle(&matched, &new);
    CheckinResponse {
        verdict,
        reason: None,
        targets: if found.is_empty() {
            p.matched.clone()
        } else {
            found
        },
        team_score,
        ..p.base.clone()
    }
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
    let team = p.member.team;
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
