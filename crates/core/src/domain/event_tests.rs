//! Tests of `domain::event`: the stored and wire shape of every kind (snapshots: a change here is
//! a change of `mobile-api/live.md` or of the stored format), audiences, what may be pushed.

use std::collections::HashMap;

use super::*;

fn id(n: u128) -> uuid::Uuid {
    uuid::Uuid::from_u128(n)
}

const TEAM: &str = "00000000-0000-0000-0000-00000000000a";
const PLAYER: &str = "00000000-0000-0000-0000-00000000000b";
const TARGET: &str = "00000000-0000-0000-0000-00000000000c";
const CLUE: &str = "00000000-0000-0000-0000-00000000000d";

struct Book {
    teams: HashMap<TeamId, String>,
    players: HashMap<PlayerId, String>,
}

impl Names for Book {
    fn team_name(&self, team: TeamId) -> Option<&str> {
        self.teams.get(&team).map(String::as_str)
    }
    fn player_handle(&self, player: PlayerId) -> Option<&str> {
        self.players.get(&player).map(String::as_str)
    }
}

fn book() -> Book {
    Book {
        teams: HashMap::from([(TeamId(id(10)), "Les Lynx".to_owned())]),
        players: HashMap::from([(PlayerId(id(11)), "ana".to_owned())]),
    }
}

/// One event of every kind, as the writers make them.
fn every_kind() -> Vec<NewEvent> {
    let (team, player) = (TeamId(id(10)), PlayerId(id(11)));
    vec![
        NewEvent::target_found(TargetFound {
            team_id: team,
            target_id: TargetId(id(12)),
            name: "Tour Eiffel".into(),
            points: 5,
            player_id: player,
        }),
        NewEvent::score_changed(
            ScoreChanged {
                team_id: team,
                score: 6,
                delta: 5,
                player_id: Some(player),
                player_score: Some(5),
            },
            false,
        ),
        NewEvent::clue_revealed(
            team,
            ClueRevealed {
                clue_id: ClueId(id(13)),
                text: "Under the bridge".into(),
                media_url: None,
                rule: RevealRule::Cost,
                cost: Some(3),
            },
        ),
        NewEvent::broadcast("Hurry!".into(), None),
        NewEvent::phase_changed(Phase::Live, Some(Phase::Teaser)),
        NewEvent::status_changed(StatusChange::Paused),
        NewEvent::team_created(team, "Les Lynx (at creation)".into()),
        NewEvent::member_joined(team, player, "ana (at joining)".into()),
        NewEvent::leaderboard(true),
        NewEvent::leaderboard(false),
    ]
}

fn numbered(e: &NewEvent, offset: i64) -> Event {
    Event {
        offset,
        hunt: HuntId(id(1)),
        audience: e.audience,
        data: e.data.clone(),
    }
}

#[test]
fn every_kind_is_covered_once() {
    let kinds: Vec<EventKind> = every_kind().iter().map(|e| e.data.kind()).collect();
    assert_eq!(kinds, EventKind::ALL.to_vec());
    for k in EventKind::ALL {
        assert_eq!(EventKind::parse(k.as_str()), Some(k));
    }
    assert_eq!(EventKind::parse("rank_changed"), None);
}

#[test]
fn what_is_stored_of_each_kind_carries_ids_and_only_the_names_it_defines() {
    let stored: Vec<String> = every_kind()
        .iter()
        .map(|e| e.data.stored().to_string())
        .collect();
    let t = TEAM;
    let p = PLAYER;
    let c = CLUE;
    assert_eq!(
        stored,
        vec![
            format!(
                r#"{{"name":"Tour Eiffel","player_id":"{p}","points":5,"target_id":"{TARGET}","team_id":"{t}"}}"#
            ),
            format!(
                r#"{{"delta":5,"player_id":"{p}","player_score":5,"score":6,"team_id":"{t}"}}"#
            ),
            format!(
                r#"{{"clue_id":"{c}","cost":3,"media_url":null,"rule":"cost","text":"Under the bridge"}}"#
            ),
            r#"{"message":"Hurry!","team_id":null}"#.to_owned(),
            r#"{"phase":"live","previous":"teaser"}"#.to_owned(),
            r#"{"status":"paused"}"#.to_owned(),
            format!(r#"{{"name":"Les Lynx (at creation)","team_id":"{t}"}}"#),
            format!(r#"{{"handle":"ana (at joining)","player_id":"{p}","team_id":"{t}"}}"#),
            "{}".to_owned(),
            "{}".to_owned(),
        ]
    );
    for e in every_kind() {
        let back = EventData::from_stored(e.data.kind().as_str(), e.data.stored()).unwrap();
        assert_eq!(back, e.data);
    }
}

/// The frames of `mobile-api/live.md`, member for member, with the names the node holds now.
#[test]
fn the_wire_shape_of_each_kind_is_the_documented_one_with_current_names() {
    let frames: Vec<Value> = every_kind()
        .iter()
        .enumerate()
        .map(|(i, e)| serde_json::from_str(&numbered(e, i as i64 + 1).wire(&book())).unwrap())
        .collect();
    let (t, p) = (TEAM, PLAYER);
    let data: Vec<Value> = frames.iter().map(|f| f["data"].clone()).collect();
    assert_eq!(
        data,
        vec![
            json!({"team_id": t, "target_id": TARGET, "name": "Tour Eiffel", "points": 5, "player_id": p, "handle": "ana"}),
            json!({"team_id": t, "team_name": "Les Lynx", "score": 6, "delta": 5, "player_id": p, "handle": "ana", "player_score": 5}),
            json!({"clue_id": CLUE, "text": "Under the bridge", "media_url": null, "rule": "cost", "cost": 3}),
            json!({"message": "Hurry!", "team_id": null}),
            json!({"phase": "live", "previous": "teaser"}),
            json!({"status": "paused"}),
            json!({"team_id": t, "name": "Les Lynx"}),
            json!({"team_id": t, "player_id": p, "handle": "ana"}),
            json!({}),
            json!({}),
        ]
    );
    assert_eq!(
        frames[3],
        json!({"type": "event", "hunt_id": "00000000-0000-0000-0000-000000000001", "offset": 4,
               "kind": "broadcast", "data": {"message": "Hurry!", "team_id": null}})
    );
    // A node that does not know the names yet shows the ones the defining events hold.
    let created = numbered(&every_kind()[6], 7).wire(&NoNames);
    assert!(
        created.contains(r#""name":"Les Lynx (at creation)""#),
        "{created}"
    );
    // A cost clue's score change has no finder.
    let bought = NewEvent::score_changed(
        ScoreChanged {
            team_id: TeamId(id(10)),
            score: 3,
            delta: -3,
            player_id: None,
            player_score: None,
        },
        false,
    );
    let frame: Value = serde_json::from_str(&numbered(&bought, 9).wire(&book())).unwrap();
    assert_eq!(
        frame["data"],
        json!({"team_id": t, "team_name": "Les Lynx", "score": 3, "delta": -3})
    );
}

/// Events stored before names were resolved at sending held `handle` and `team_name`: they read,
/// and the names sent are the current ones.
#[test]
fn an_event_stored_with_names_reads_and_shows_the_current_ones() {
    let old = json!({"team_id": TEAM, "team_name": "Old name", "score": 6, "delta": 5, "player_id": PLAYER,
                     "handle": "old handle", "player_score": 5});
    let data = EventData::from_stored("score_changed", old).unwrap();
    let e = Event {
        offset: 1,
        hunt: HuntId(id(1)),
        audience: Audience::Hunt,
        data,
    };
    let frame: Value = serde_json::from_str(&e.wire(&book())).unwrap();
    assert_eq!(
        (
            frame["data"]["team_name"].as_str(),
            frame["data"]["handle"].as_str()
        ),
        (Some("Les Lynx"), Some("ana"))
    );
    assert!(EventData::from_stored("score_changed", json!({"team_id": TEAM})).is_err());
    assert!(EventData::from_stored("no_such_kind", json!({})).is_err());
}

#[test]
fn audiences_admit_whom_the_rules_say_and_survive_their_columns() {
    let (a, b) = (TeamId(id(20)), TeamId(id(21)));
    let (p, q) = (PlayerId(id(22)), PlayerId(id(23)));
    let in_a = Viewer::Player {
        player: p,
        team: Some(a),
    };
    let in_b = Viewer::Player {
        player: q,
        team: Some(b),
    };
    let teamless = Viewer::Player {
        player: q,
        team: None,
    };
    let table = [
        (Audience::Hunt, [true, true, true, true]),
        (Audience::Team(a), [true, false, false, true]),
        (Audience::Player(p), [true, false, false, true]),
        (Audience::Player(q), [false, true, true, true]),
        (Audience::Staff, [false, false, false, true]),
    ];
    for (audience, expected) in table {
        let got = [in_a, in_b, teamless, Viewer::Staff].map(|v| audience.admits(&v));
        assert_eq!(got, expected, "{audience:?}");
        let (t, pl, staff) = audience.columns();
        assert_eq!(Audience::from_columns(t, pl, staff), audience);
    }
}

#[test]
fn the_constructors_decide_audiences_as_live_md_says() {
    let team = TeamId(id(10));
    let audiences: Vec<Audience> = every_kind().iter().map(|e| e.audience).collect();
    use Audience::{Hunt, Team};
    assert_eq!(
        audiences,
        vec![
            Team(team),
            Hunt,
            Team(team),
            Hunt,
            Hunt,
            Hunt,
            Hunt,
            Team(team),
            Hunt,
            Hunt
        ]
    );
    let EventData::ScoreChanged(s) = every_kind()[1].data.clone() else {
        panic!("not a score");
    };
    assert_eq!(NewEvent::score_changed(s, true).audience, Team(team));
    assert_eq!(
        NewEvent::broadcast("x".into(), Some(team)).audience,
        Team(team)
    );
}

#[test]
fn finds_clues_broadcasts_climbs_and_live_or_ended_are_pushed_nothing_else() {
    let pushed: Vec<bool> = every_kind().iter().map(|e| e.data.pushable()).collect();
    assert_eq!(
        pushed,
        vec![
            true, true, true, true, true, false, false, false, false, false
        ]
    );
    for (phase, push) in [
        (Phase::Teaser, false),
        (Phase::Live, true),
        (Phase::Ended, true),
        (Phase::Archived, false),
    ] {
        assert_eq!(
            NewEvent::phase_changed(phase, None).data.pushable(),
            push,
            "{phase:?}"
        );
    }
    let lost = EventData::ScoreChanged(ScoreChanged {
        team_id: TeamId(id(10)),
        score: 1,
        delta: -2,
        player_id: None,
        player_score: None,
    });
    assert!(!lost.pushable());
}
