//! Push notifications: their categories, how long and how urgently each is delivered, and the
//! text a phone shows for an event. No IO.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::event::{EventData, Names};
use super::hunt::Phase;
use super::ids::HuntId;

/// What a notification is about; players mute categories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// The team unlocked a clue.
    Clue,
    /// A teammate found a target.
    Find,
    /// Another team overtook the player's team.
    Rank,
    /// The hunt went live or ended.
    Phase,
    /// A game master's message.
    Broadcast,
}

/// How soon a push service should wake the device (RFC 8030 5.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Urgency {
    Low,
    Normal,
    High,
}

impl Urgency {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Normal => "normal",
            Self::High => "high",
        }
    }
}

impl Category {
    pub const ALL: [Category; 5] = [
        Self::Clue,
        Self::Find,
        Self::Rank,
        Self::Phase,
        Self::Broadcast,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Clue => "clue",
            Self::Find => "find",
            Self::Rank => "rank",
            Self::Phase => "phase",
            Self::Broadcast => "broadcast",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == name)
    }

    /// Seconds a push service keeps the notification for an unreachable device; also how long a
    /// dispatcher retries it. A rank is stale quickly, a clue stays useful while the hunt runs.
    pub fn ttl_s(self) -> u32 {
        match self {
            Self::Rank => 10 * 60,
            Self::Find => 60 * 60,
            Self::Clue | Self::Broadcast => 4 * 60 * 60,
            Self::Phase => 12 * 60 * 60,
        }
    }

    pub fn urgency(self) -> Urgency {
        match self {
            Self::Rank => Urgency::Low,
            Self::Find | Self::Clue => Urgency::Normal,
            Self::Phase | Self::Broadcast => Urgency::High,
        }
    }

    /// Whether a newer notification of the same kind replaces one not yet delivered (the push
    /// `Topic`): only rank changes, where the latest is all that matters.
    pub fn collapses(self) -> bool {
        self == Self::Rank
    }
}

/// Longest body text shown (characters); push payloads must stay well under 4 KiB.
const BODY_CHARS: usize = 180;

/// The notification a player's device shows for a numbered event of `hunt` (titled
/// `hunt_title`), with the names `names` holds now, as the JSON payload the app's service worker
/// receives. `None` for an event that is never pushed in `category`.
pub fn payload(
    category: Category,
    hunt: HuntId,
    hunt_title: &str,
    offset: i64,
    event: &EventData,
    names: &dyn Names,
) -> Option<Value> {
    let (title, body) = match (category, event) {
        (Category::Find, EventData::TargetFound(f)) => (
            format!(
                "{} found {}",
                names.player_handle(f.player_id).unwrap_or_default(),
                f.name
            ),
            format!("+{} points for your team", f.points),
        ),
        (Category::Clue, EventData::ClueRevealed(c)) => {
            ("New clue unlocked".to_owned(), short(&c.text))
        }
        (Category::Rank, EventData::ScoreChanged(s)) => (
            format!(
                "{} overtook your team",
                names.team_name(s.team_id).unwrap_or_default()
            ),
            format!("They now have {} points", s.score),
        ),
        (Category::Phase, EventData::PhaseChanged { phase, .. }) => match phase {
            Phase::Live => ("The hunt is live".to_owned(), "Go find them!".to_owned()),
            Phase::Ended => (
                "The hunt has ended".to_owned(),
                "See the final leaderboard".to_owned(),
            ),
            _ => return None,
        },
        (Category::Broadcast, EventData::Broadcast { message, .. }) => {
            ("Message from the game master".to_owned(), short(message))
        }
        _ => return None,
    };
    Some(json!({
        "category": category.as_str(),
        "title": short(&title),
        "body": body,
        "hunt_id": hunt,
        "hunt_title": short(hunt_title),
        "offset": offset,
        "kind": event.kind().as_str(),
        "url": format!("/hunts/{hunt}?after={}", offset - 1),
    }))
}

fn short(text: &str) -> String {
    if text.chars().count() <= BODY_CHARS {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(BODY_CHARS - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::event::{ScoreChanged, TargetFound};
    use crate::domain::ids::{PlayerId, TargetId, TeamId};

    fn hunt() -> HuntId {
        HuntId(uuid::Uuid::nil())
    }

    #[test]
    fn categories_round_trip_and_unknown_names_do_not_parse() {
        for c in Category::ALL {
            assert_eq!(Category::parse(c.as_str()), Some(c));
        }
        assert_eq!(Category::parse("spam"), None);
    }

    struct Ana;

    impl Names for Ana {
        fn team_name(&self, _: TeamId) -> Option<&str> {
            Some("Les Lynx")
        }
        fn player_handle(&self, _: PlayerId) -> Option<&str> {
            Some("ana")
        }
    }

    #[test]
    fn a_find_names_the_finder_and_the_target_never_a_position() {
        let found = EventData::TargetFound(TargetFound {
            team_id: TeamId(uuid::Uuid::from_u128(1)),
            target_id: TargetId(uuid::Uuid::from_u128(2)),
            name: "Tour Eiffel".into(),
            points: 5,
            player_id: PlayerId(uuid::Uuid::from_u128(3)),
        });
        let p = payload(Category::Find, hunt(), "Paris", 42, &found, &Ana).unwrap();
        assert_eq!(p["title"], "ana found Tour Eiffel");
        assert_eq!(p["body"], "+5 points for your team");
        assert_eq!(p["offset"], 42);
        assert_eq!(p["url"], format!("/hunts/{}?after=41", hunt()));
        let text = p.to_string();
        assert!(!text.contains("lat") && !text.contains("lon"), "{text}");
    }

    #[test]
    fn long_texts_are_shortened_and_other_phases_are_not_pushed() {
        let long = EventData::Broadcast {
            message: "x".repeat(1000),
            team_id: None,
        };
        let p = payload(Category::Broadcast, hunt(), "Paris", 1, &long, &Ana).unwrap();
        assert_eq!(p["body"].as_str().unwrap().chars().count(), BODY_CHARS);
        assert_eq!(p["kind"], "broadcast");
        let teaser = EventData::PhaseChanged {
            phase: Phase::Teaser,
            previous: None,
        };
        assert_eq!(
            payload(Category::Phase, hunt(), "Paris", 1, &teaser, &Ana),
            None
        );
        assert_eq!(
            payload(Category::Clue, hunt(), "Paris", 1, &long, &Ana),
            None
        );
        let overtaken = EventData::ScoreChanged(ScoreChanged {
            team_id: TeamId(uuid::Uuid::from_u128(1)),
            score: 9,
            delta: 4,
            player_id: None,
            player_score: None,
        });
        let p = payload(Category::Rank, hunt(), "Paris", 1, &overtaken, &Ana).unwrap();
        assert_eq!(
            (p["title"].as_str(), p["body"].as_str()),
            (
                Some("Les Lynx overtook your team"),
                Some("They now have 9 points")
            )
        );
    }

    #[test]
    fn rank_changes_collapse_and_expire_soonest() {
        assert!(Category::Rank.collapses());
        assert!(
            Category::ALL
                .iter()
                .all(|c| c.ttl_s() >= Category::Rank.ttl_s())
        );
        assert!(Category::ALL.iter().all(|c| c.ttl_s() <= 24 * 60 * 60));
    }
}
