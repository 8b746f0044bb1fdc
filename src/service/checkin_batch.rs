//! What a batch of check-ins settles to, decided in memory between the writer's two round trips:
//! the teams to lock, each finder's score before the batch, each answer, and the events of a find.

use std::collections::{HashMap, HashSet};

use serde_json::json;

use super::checkin::{CheckinResponse, VerdictTarget};
use super::checkin_writer::Pending;
use crate::db::checkins::NewFind;
use crate::domain::checkin;
use crate::domain::event::{EventKind, NewEvent};
use crate::domain::ids::{CheckinId, HuntId, PlayerId, TargetId, TeamId};

/// Teams of the active check-ins: those that matched a target (their rows get locked, in id
/// order) and the others (only read, for the `team_score` of their answers).
pub(super) fn teams_of(pending: &[&Pending], active: &[usize]) -> (Vec<TeamId>, Vec<TeamId>) {
    let mut finding: Vec<TeamId> = active
        .iter()
        .map(|&i| pending[i])
        .filter(|p| !p.matched.is_empty())
        .map(|p| p.member.team)
        .collect();
    finding.sort();
    finding.dedup();
    let mut others: Vec<TeamId> = active
        .iter()
        .map(|&i| pending[i].member.team)
        .filter(|t| finding.binary_search(t).is_err())
        .collect();
    others.sort();
    others.dedup();
    (finding, others)
}

/// Each finder's score before this batch: the score after it (returned by the finds statement)
/// minus the batch's new points for that player.
pub(super) fn player_scores_before(
    pending: &[&Pending],
    active: &[usize],
    new_finds: &[NewFind],
    new_by_checkin: &HashMap<CheckinId, HashSet<TargetId>>,
) -> HashMap<(HuntId, PlayerId), i64> {
    let by_id: HashMap<CheckinId, &Pending> = active
        .iter()
        .map(|&i| (pending[i].id, pending[i]))
        .collect();
    let mut scores: HashMap<(HuntId, PlayerId), i64> = HashMap::new();
    for f in new_finds {
        if let Some(p) = by_id.get(&f.checkin) {
            scores.insert((p.hunt, p.player), f.player_score_after_batch);
        }
    }
    for &i in active {
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

/// The final answer: `found` with the new targets, `already_found` with the matched ones the team
/// had, or the judged verdict when nothing matched; with the team's score after this check-in.
pub(super) fn settle(p: &Pending, found: Vec<VerdictTarget>, team_score: i64) -> CheckinResponse {
    if p.matched.is_empty() {
        return CheckinResponse {
            team_score,
            ..p.base.clone()
        };
    }
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
pub(super) struct Scores {
    pub team: i64,
    pub player: i64,
    pub delta: i64,
}

/// One `target_found` (team audience) per new find and one `score_changed` (hunt audience; the
/// team's only while the leaderboard is frozen).
pub(super) fn find_events(
    p: &Pending,
    found: &[VerdictTarget],
    s: Scores,
    frozen: bool,
) -> Vec<NewEvent> {
    let m = &p.member;
    let mut events: Vec<NewEvent> = found
        .iter()
        .map(|t| NewEvent {
            kind: EventKind::TargetFound,
            team: Some(m.team),
            data: json!({"team_id": m.team, "target_id": t.id, "name": t.name, "points": t.points,
                         "player_id": p.player, "handle": m.handle}),
        })
        .collect();
    events.push(NewEvent {
        kind: EventKind::ScoreChanged,
        team: frozen.then_some(m.team),
        data: json!({"team_id": m.team, "team_name": m.team_name, "score": s.team, "delta": s.delta,
                     "player_id": p.player, "handle": m.handle, "player_score": s.player}),
    });
    events
}
