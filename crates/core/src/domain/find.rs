//! The rules of a find, pure: which of a batch's claimed check-ins find which of their matched
//! targets, and the scores each check-in of the batch answers with. The check-in writer reads what
//! the database holds for the claims' teams under their row locks ([`Before`]), settles here, and
//! stores what this decided (`db::checkin_writes::store`), checking that the database agreed.
//!
//! - **First finder wins.** A team finds a target once: the first claim of the batch (in batch
//!   order) that matched a target its team did not have finds it; the claims after it, and every
//!   claim of a team that had it, have already found it.
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

/// What the database held for the claims' teams and finders before the batch, read while their
/// team rows were locked (so nothing else changes it until the batch commits).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Before {
    /// Each claiming team's score.
    pub team_scores: HashMap<TeamId, i64>,
    /// Each finder's score in the hunt; a player without a row has 0.
    pub player_scores: HashMap<(HuntId, PlayerId), i64>,
    /// Of the (team, target) pairs the claims matched, those the team had already found.
    pub found: HashSet<(TeamId, TargetId)>,
}

/// What one claim settled to.
#[derive(Debug, Clone, PartialEq)]
pub struct Settlement {
    pub verdict: Verdict,
    /// The matched targets this check-in found, with their points (in `matched` order); empty
    /// for `already_found`.
    pub found: Vec<(TargetId, i32)>,
    /// Points the finds added.
    pub delta: i64,
    /// The team's score after this check-in.
    pub team_score: i64,
    /// The finder's score after this check-in; `None` when it found nothing.
    pub player_score: Option<i64>,
}

/// Settles `claims` (in batch order) from what the database held before the batch. One
/// settlement per claim, in order.
pub fn settle(claims: &[Claim], before: Before) -> Vec<Settlement> {
    let Before {
        mut team_scores,
        mut player_scores,
        mut found,
    } = before;
    claims
        .iter()
        .map(|c| {
            let new: Vec<(TargetId, i32)> = c
                .matched
                .iter()
                .copied()
                .filter(|(t, _)| found.insert((c.team, *t)))
                .collect();
            let delta: i64 = new.iter().map(|(_, p)| i64::from(*p)).sum();
            let team_score = team_scores.entry(c.team).or_insert(0);
            *team_score += delta;
            let player_score = (!new.is_empty()).then(|| {
                let score = player_scores.entry((c.hunt, c.player)).or_insert(0);
                *score += delta;
                *score
            });
            let matched: Vec<TargetId> = c.matched.iter().map(|(t, _)| *t).collect();
            let ids: Vec<TargetId> = new.iter().map(|(t, _)| *t).collect();
            Settlement {
                verdict: checkin::claim_verdict(&matched, &ids),
                found: new,
                delta,
                team_score: *team_score,
                player_score,
            }
        })
        .collect()
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

    fn before(teams: &[(TeamId, i64)]) -> Before {
        Before {
            team_scores: teams.iter().copied().collect(),
            ..Before::default()
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
        let mut b = before(&[(team, 30)]);
        b.player_scores.insert((HuntId(id(1)), ana), 2);
        let s = settle(&claims, b);
        assert_eq!(
            (
                s[0].verdict,
                s[0].found.clone(),
                s[0].delta,
                s[0].team_score,
                s[0].player_score
            ),
            (Verdict::Found, vec![fountain], 5, 35, Some(7))
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
        let mut before = before(&[(team, 10), (other, 0)]);
        before.player_scores.insert((HuntId(id(1)), ana), 2);
        let s = settle(&claims, before);
        let steps: Vec<(i64, i64, Option<i64>)> = s
            .iter()
            .map(|s| (s.delta, s.team_score, s.player_score))
            .collect();
        assert_eq!(
            steps,
            vec![(8, 18, Some(10)), (5, 5, Some(5)), (1, 19, Some(11))]
        );
        assert_eq!(s[0].found, vec![a, b]);
    }

    #[test]
    fn a_target_the_team_had_before_the_batch_is_already_found_and_the_others_are_found() {
        let (team, ana) = (TeamId(id(10)), PlayerId(id(11)));
        let (old, new) = ((TargetId(id(20)), 5), (TargetId(id(21)), 4));
        let claims = [claim(100, team, ana, &[old, new])];
        let mut b = before(&[(team, 40)]);
        b.found.insert((team, old.0));
        let s = settle(&claims, b.clone());
        assert_eq!(
            (
                s[0].verdict,
                s[0].found.clone(),
                s[0].delta,
                s[0].team_score
            ),
            (Verdict::Found, vec![new], 4, 44)
        );
        b.found.insert((team, new.0));
        let s = settle(&claims, b);
        assert_eq!(
            (s[0].verdict, s[0].delta, s[0].team_score, s[0].player_score),
            (Verdict::AlreadyFound, 0, 40, None)
        );
    }

    #[test]
    fn another_team_finding_the_same_target_in_the_batch_takes_nothing_from_the_first() {
        let (red, blue) = (TeamId(id(10)), TeamId(id(13)));
        let fountain = (TargetId(id(20)), 5);
        let claims = [
            claim(100, red, PlayerId(id(11)), &[fountain]),
            claim(101, blue, PlayerId(id(14)), &[fountain]),
        ];
        let s = settle(&claims, before(&[(red, 0), (blue, 0)]));
        assert_eq!(
            s.iter()
                .map(|s| (s.verdict, s.team_score))
                .collect::<Vec<_>>(),
            vec![(Verdict::Found, 5), (Verdict::Found, 5)]
        );
    }
}
