//! The event log against the domain's audience rule: what `db::events::read` returns to each
//! viewer (its SQL is `db::events::visible!`) is exactly what `Audience::admits` says, for every
//! audience; what the domain marks pushable gets a push job, nothing else.

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use nenufar::domain::event::{Audience, EventData, NewEvent, Viewer};
use nenufar::domain::ids::{HuntId, PlayerId, TeamId};
use serde_json::json;

use crate::support::*;

#[derive(diesel::QueryableByName)]
struct Member {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    team_id: uuid::Uuid,
}

async fn team_of_player(conn: &mut AsyncPgConnection, player: &str) -> TeamId {
    let m: Member = diesel::sql_query(format!(
        "select team_id from team_members where player_id = '{player}'"
    ))
    .get_result(conn)
    .await
    .unwrap();
    TeamId(m.team_id)
}

/// A node, a staff member and their live hunt with one 40 m target of 3 points at `at`.
async fn live_hunt(at: (f64, f64)) -> (TestApp, Staff, String) {
    let app = TestApp::spawn().await;
    let staff = app.staff().await;
    let hunt = app.draft_hunt(&staff, paris_area(), json!({})).await;
    let target = circle("c", at.0, at.1, 40.0, 3);
    app.import(&staff, &hunt, collection(vec![target])).await;
    app.publish(&staff, &hunt).await;
    (app, staff, hunt)
}

#[tokio::test]
async fn each_viewer_reads_from_the_log_exactly_what_the_audience_rule_admits() {
    let (app, _staff, hunt) = live_hunt((48.85, 2.35)).await;
    let (a, b, loner) = (
        app.player_in_team(&hunt).await,
        app.player_in_team(&hunt).await,
        app.player().await,
    );
    let mut conn = AsyncPgConnection::establish(&app.db_url).await.unwrap();
    let (team_a, team_b) = (
        team_of_player(&mut conn, &a.id).await,
        team_of_player(&mut conn, &b.id).await,
    );
    let (pa, pb, pl) = (
        PlayerId(a.id.parse().unwrap()),
        PlayerId(b.id.parse().unwrap()),
        PlayerId(loner.id.parse().unwrap()),
    );
    let hunt_id = HuntId(hunt.parse().unwrap());
    let audiences = [
        Audience::Hunt,
        Audience::Team(team_a),
        Audience::Team(team_b),
        Audience::Player(pa),
        Audience::Player(pl),
        Audience::Staff,
    ];
    // One broadcast per audience, its message naming the audience.
    let events: Vec<NewEvent> = audiences
        .iter()
        .map(|audience| NewEvent {
            audience: *audience,
            data: EventData::Broadcast {
                message: format!("{audience:?}"),
                team_id: None,
            },
        })
        .collect();
    let appended: Vec<(HuntId, &NewEvent)> = events.iter().map(|e| (hunt_id, e)).collect();
    nenufar::db::events::append_many(&conn, &appended)
        .await
        .unwrap();
    // Numbered by the node's sequencer (numbering them here would race it for its lock, and
    // find nothing to do when it holds it).
    crate::live::sequenced(&app.db_url).await;

    let viewers = [
        Viewer::Player {
            player: pa,
            team: Some(team_a),
        },
        Viewer::Player {
            player: pb,
            team: Some(team_b),
        },
        Viewer::Player {
            player: pl,
            team: None,
        },
        Viewer::Staff,
    ];
    let broadcasts = |events: Vec<nenufar::domain::event::Event>| -> Vec<Audience> {
        events
            .into_iter()
            .filter(|e| matches!(e.data, EventData::Broadcast { .. }))
            .map(|e| e.audience)
            .collect()
    };
    for viewer in viewers {
        let read = nenufar::db::events::read(&mut conn, hunt_id, 0, 1000, Some(&viewer))
            .await
            .unwrap();
        let expected: Vec<Audience> = audiences
            .iter()
            .copied()
            .filter(|a| a.admits(&viewer))
            .collect();
        assert_eq!(broadcasts(read), expected, "{viewer:?}");
    }
    // The node's own read has everything, in the order appended.
    let all = nenufar::db::events::read(&mut conn, hunt_id, 0, 1000, None)
        .await
        .unwrap();
    assert_eq!(broadcasts(all), audiences.to_vec());
    // Sanity of the test itself: the rule does tell these viewers apart.
    assert!(!Audience::Team(team_a).admits(&viewers[1]) && Audience::Staff.admits(&viewers[3]));
}

/// The events a hunt's life appends (teams, a find, a pause) store ids, not the names they show;
/// appended again in a transaction of the test's own (before the sequencer or a push expansion can
/// see them), each gets a push job exactly when `EventData::pushable` says so.
#[tokio::test]
async fn stored_events_hold_ids_and_get_push_jobs_exactly_when_pushable() {
    let (app, staff, hunt) = live_hunt((48.85837, 2.29448)).await;
    let p = app.player_in_team(&hunt).await;
    let (status, body) = app.check_in(&p, &hunt, 48.85837, 2.29448, 5.0).await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    for path in ["pause", "resume"] {
        let (status, body) = app
            .post(
                &format!("/v1/hunts/{hunt}/{path}"),
                Some(&staff.token),
                json!({}),
            )
            .await;
        assert!(status.is_success(), "{path}: {body}");
    }
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        kind: String,
        #[diesel(sql_type = diesel::sql_types::Jsonb)]
        data: serde_json::Value,
    }
    let mut conn = AsyncPgConnection::establish(&app.db_url).await.unwrap();
    let rows: Vec<Row> = diesel::sql_query("select kind, data from events order by id")
        .load(&mut conn)
        .await
        .unwrap();
    let kinds: Vec<&str> = rows.iter().map(|r| r.kind.as_str()).collect();
    for kind in [
        "team_created",
        "member_joined",
        "target_found",
        "score_changed",
        "status_changed",
    ] {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }
    let mut events = Vec::new();
    for r in rows {
        // Events store ids: only the events that define a name hold one.
        if matches!(r.kind.as_str(), "target_found" | "score_changed") {
            assert!(
                r.data.get("handle").is_none() && r.data.get("team_name").is_none(),
                "{} stored a display name: {}",
                r.kind,
                r.data
            );
        }
        let data = EventData::from_stored(&r.kind, r.data).unwrap();
        events.push(NewEvent {
            audience: Audience::Hunt,
            data,
        });
    }

    #[derive(diesel::QueryableByName)]
    struct Jobs {
        #[diesel(sql_type = diesel::sql_types::Text)]
        kind: String,
        #[diesel(sql_type = diesel::sql_types::Bool)]
        pushed: bool,
    }
    let hunt_id = HuntId(hunt.parse().unwrap());
    let appended: Vec<(HuntId, &NewEvent)> = events.iter().map(|e| (hunt_id, e)).collect();
    let mut jobs: Vec<Jobs> = Vec::new();
    let rolled_back = conn
        .transaction::<(), diesel::result::Error, _>(async |c| {
            #[derive(diesel::QueryableByName)]
            struct Max {
                #[diesel(sql_type = diesel::sql_types::BigInt)]
                id: i64,
            }
            let before: Max = diesel::sql_query("select coalesce(max(id), 0) as id from events")
                .get_result(c)
                .await?;
            nenufar::db::events::append_many(c, &appended).await?;
            jobs = diesel::sql_query(format!(
                "select e.kind, exists (select 1 from push_jobs j where j.event_id = e.id) as pushed \
                 from events e where e.id > {} order by e.id",
                before.id
            ))
            .load(c)
            .await?;
            Err(diesel::result::Error::RollbackTransaction)
        })
        .await;
    assert!(matches!(
        rolled_back,
        Err(diesel::result::Error::RollbackTransaction)
    ));
    assert_eq!(jobs.len(), events.len());
    let mut pushed_kinds = 0;
    for (job, e) in jobs.iter().zip(&events) {
        assert_eq!(job.kind, e.data.kind().as_str());
        assert_eq!(job.pushed, e.data.pushable(), "{}", job.kind);
        pushed_kinds += usize::from(job.pushed);
    }
    assert!(
        pushed_kinds > 0 && pushed_kinds < jobs.len(),
        "both pushed and silent kinds were checked"
    );
}
