//! The rules of a find, pure: which of a claimed check-in's matched targets it found, and the
//! scores each check-in of a batch answers with.
//!
//! - **First finder wins.** A team finds a target once. The database keeps the first candidate per
//!   (team, target), in batch order, against every concurrent transaction (`finds` primary key,
//!   `db::checkin_writes::store`): it reports which candidates became finds ([`Recorded`]). A
//!   claim found the matched targets recorded for it; the others its team already had.
//! - **Scores.** A new find adds its target's points to the team and to the finder. Each
//!   check-in of a batch answers with its own step of the team's score (the score before the batch,
//!   plus the finds of the batch's claims up to and including it), so teammates committed together
//!   read different, increasing scores, and the `score_changed` events announce every step.
//! - **A frozen board** hides scores from other teams: see `NewEvent::score_changed`.

use std::collections::{HashMap, HashSet};

use super::checkin::{self, Verdict};
use super::ids::{CheckinId, HuntId, PlayerId, TargetId, TeamId};

/// A check-in that matched targets, claimed in a batch (in batch order).
#[derive(Debug, Clone, PartialEq)]
pub struct Claim {
    pub checkin: CheckinId,
    pub hunt: HuntId,
    pub team: TeamId,
    pub player: PlayerId,
    /// The targets it matched, with their points, in the order the verdict lists them.
    pub matched: Vec<(TargetId, i32)>,
}

/// A find the database recorded for a claim of the batch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Recorded {
    pub checkin: CheckinId,
    pub target: TargetId,
    /// The finder's score in the hunt after every find of the batch.
    pub player_score_after_batch: i64,
}

/// What one claim settled to.
#[derive(Debug, Clone, PartialEq)]
pub struct Settlement {
    pub verdict: Verdict,
    /// The matched targets this check-in found (in `matched` order); empty for `already_found`.
    pub found: Vec<TargetId>,
    /// Points the finds added.
    pub delta: i64,
    /// The team's score after this check-in.
    pub team_score: i64,
    /// The finder's score after this check-in; `None` when it found nothing.
    pub player_score: Option<i64>,
}

/// Settles `claims` (in batch order) from the scores of their teams before the batch and the
/// finds the database recorded. One settlement per claim, in order.
pub fn settle(
    claims: &[Claim],
    mut team_scores: HashMap<TeamId, i64>,
    recorded: &[Recorded],
) -> Vec<Settlement> {
    let mut new_by_checkin: HashMap<CheckinId, HashSet<TargetId>> = HashMap::new();
    for r in recorded {
        new_by_checkin
            .entry(r.checkin)
            .or_default()
            .insert(r.target);
    }
    let mut player_scores = player_scores_before(claims, recorded, &new_by_checkin);
    claims
        .iter()
        .map(|c| {
            let news = new_by_checkin.get(&c.checkin);
            let found: Vec<(TargetId, i32)> = c
                .matched
                .iter()
                .copied()
                .filter(|(t, _)| news.is_some_and(|n| n.contains(t)))
                .collect();
            let delta: i64 = found.iter().map(|(_, p)| i64::from(*p)).sum();
            let team_score = team_scores.entry(c.team).or_insert(0);
            *team_score += delta;
            let player_score = (!found.is_empty()).then(|| {
                let score = player_scores.entry((c.hunt, c.player)).or_insert(0);
                *score += delta;
                *score
            });
            let matched: Vec<TargetId> = c.matched.iter().map(|(t, _)| *t).collect();
            let found: Vec<TargetId> = found.into_iter().map(|(t, _)| t).collect();
            Settlement {
                verdict: checkin::claim_verdict(&matched, &found),
                found,
                delta,
                team_score: *team_score,
                player_score,
            }
        })
        .collect()
}

/// Each finder's score before the batch: the score after it (as recorded) minus the batch's new
/// points for that player.
fn player_scores_before(
    claims: &[Claim],
    recorded: &[Recorded],
    new_by_checkin: &HashMap<CheckinId, HashSet<TargetId>>,
) -> HashMap<(HuntId, PlayerId), i64> {
    let by_id: HashMap<CheckinId, &Claim> = claims.iter().map(|c| (c.checkin, c)).collect();
    let mut scores: HashMap<(HuntId, PlayerId), i64> = HashMap::new();
    for r in recorded {
        if let Some(c) = by_id.get(&r.checkin) {
            scores.insert((c.hunt, c.player), r.player_score_after_batch);
        }
    }
    for c in claims {
        if let Some(news) = new_by_checkin.get(&c.checkin) {
            let points: i64 = c
                .matched
                .iter()
                .filter(|(t, _)| news.contains(t))
                .map(|(_, p)| i64::from(*p))
                .sum();
            if let Some(s) = scores.get_mut(&(c.hunt, c.player)) {
                *s -= points;
            }
        }
    }
    scores
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u128) -> uuid::Uuid {
        uuid::Uuid::from_u128(n)
    }

    fn claim(n: u128, team: TeamId, player: PlayerId, matched: &[(TargetId, i32)]) -> Claim {
        Claim {
            checkin: CheckinId(id(n)),
            hunt: HuntId(id(1)),
            team,
            player,
            matched: matched.to_vec(),
        }
    }

    #[test]
    fn the_first_claim_of_a_batch_finds_and_a_teammate_after_it_has_already_found() {
        let (team, ana, bo) = (TeamId(id(10)), PlayerId(id(11)), PlayerId(id(12)));
        let fountain = (TargetId(id(20)), 5);
        let claims = [
            claim(100, team, ana, &[fountain]),
            claim(101, team, bo, &[fountain]),
        ];
        let recorded = [Recorded {
            checkin: CheckinId(id(100)),
            target: fountain.0,
            player_score_after_batch: 7,
        }];
        let s = settle(&claims, HashMap::from([(team, 30)]), &recorded);
        assert_eq!(
            (
                s[0].verdict,
                s[0].found.clone(),
                s[0].delta,
                s[0].team_score,
                s[0].player_score
            ),
            (Verdict::Found, vec![fountain.0], 5, 35, Some(7))
        );
        assert_eq!(
            (
                s[1].verdict,
                s[1].found.is_empty(),
                s[1].delta,
                s[1].team_score,
                s[1].player_score
            ),
            (Verdict::AlreadyFound, true, 0, 35, None)
        );
    }

    #[test]
    fn each_check_in_of_a_batch_answers_its_own_step_of_the_team_and_player_score() {
        let (team, other, ana) = (TeamId(id(10)), TeamId(id(13)), PlayerId(id(11)));
        let (a, b, c) = (
            (TargetId(id(20)), 5),
            (TargetId(id(21)), 3),
            (TargetId(id(22)), 1),
        );
        let claims = [
            claim(100, team, ana, &[a, b]),
            claim(101, other, PlayerId(id(14)), &[a]),
            claim(102, team, ana, &[c]),
        ];
        // Ana had 2 points before the batch: 2 + 5 + 3 + 1 = 11 after it.
        let recorded = [
            Recorded {
                checkin: CheckinId(id(100)),
                target: a.0,
                player_score_after_batch: 11,
            },
            Recorded {
                checkin: CheckinId(id(100)),
                target: b.0,
                player_score_after_batch: 11,
            },
            Recorded {
                checkin: CheckinId(id(101)),
                target: a.0,
                player_score_after_batch: 5,
            },
            Recorded {
                checkin: CheckinId(id(102)),
                target: c.0,
                player_score_after_batch: 11,
            },
        ];
        let s = settle(&claims, HashMap::from([(team, 10), (other, 0)]), &recorded);
        let steps: Vec<(i64, i64, Option<i64>)> = s
            .iter()
            .map(|s| (s.delta, s.team_score, s.player_score))
            .collect();
        assert_eq!(
            steps,
            vec![(8, 18, Some(10)), (5, 5, Some(5)), (1, 19, Some(11))]
        );
        assert_eq!(s[0].found, vec![a.0, b.0]);
    }

    #[test]
    fn a_claim_whose_finds_another_transaction_took_first_has_already_found() {
        let (team, ana) = (TeamId(id(10)), PlayerId(id(11)));
        let claims = [claim(100, team, ana, &[(TargetId(id(20)), 5)])];
        let s = settle(&claims, HashMap::from([(team, 40)]), &[]);
        assert_eq!(
            (s[0].verdict, s[0].delta, s[0].team_score),
            (Verdict::AlreadyFound, 0, 40)
        );
    }
}
