//! The group-commit writer while its batches wait for a hunt row the test holds: a change of the
//! hunt meanwhile costs the check-ins concerned a re-judgement, never a batch re-run; a batch
//! whose database connection is lost (an administrator's kill, a proxy reset, a failover) runs
//! again on a fresh connection, then one check-in at a time; every request is still answered
//! from storage, once.

use chrono::Utc;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::checkin_races::batch_reruns_for;
use crate::support::*;

const EIFFEL: (f64, f64) = (48.85837, 2.29448);

#[derive(diesel::QueryableByName)]
struct Pid {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pid: i32,
}

/// Waits (a generous minute: liveness, not speed) until `n` writer backends not in `seen` wait
/// for the hunt lock, and returns their process ids.
async fn waiting_writers(conn: &mut AsyncPgConnection, n: usize, seen: &[i32]) -> Vec<i32> {
    #[derive(diesel::QueryableByName, Debug)]
    struct Activity {
        #[diesel(sql_type = diesel::sql_types::Text)]
        what: String,
    }
    let what = format!("{n} writer batches waiting for the hunt lock");
    wait_until(&what, std::time::Duration::from_secs(60), async || {
        let pids: Vec<i32> = diesel::sql_query(
            "select pid from pg_stat_activity where datname = current_database() \
             and wait_event_type = 'Lock' and query like 'select id, revision, frozen_at_offset%'",
        )
        .load::<Pid>(conn)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.pid)
        .filter(|p| !seen.contains(p))
        .collect();
        if pids.len() >= n {
            return Ok(pids);
        }
        let activity: Vec<Activity> = diesel::sql_query(
            "select coalesce(state, '') || ' ' || coalesce(wait_event_type, '') || ' ' || left(query, 90) as what \
             from pg_stat_activity where datname = current_database()",
        )
        .load(conn)
        .await
        .unwrap();
        Err(activity.into_iter().map(|a| a.what).collect::<Vec<_>>())
    })
    .await
}

async fn terminate(conn: &mut AsyncPgConnection, pids: &[i32]) {
    let list = pids
        .iter()
        .map(i32::to_string)
        .collect::<Vec<_>>()
        .join(",");
    diesel::sql_query(format!(
        "select pg_terminate_backend(pid) from unnest(array[{list}]) as pid"
    ))
    .execute(conn)
    .await
    .unwrap();
}

/// The value of an unlabelled metric of the node.
async fn metric(app: &TestApp, name: &str) -> f64 {
    let text = app
        .client
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .unwrap_or_else(|| panic!("no {name} in /metrics"))
        .parse()
        .unwrap()
}

/// Waits (liveness, a generous minute) until `name` reads `value`.
async fn until_metric(app: &TestApp, name: &str, value: f64) {
    let what = format!("{name} at {value}");
    wait_until(&what, std::time::Duration::from_secs(60), async || {
        let now = metric(app, name).await;
        if now == value { Ok(()) } else { Err(now) }
    })
    .await;
}

/// A live hunt with one target.
async fn live_hunt(app: &TestApp, staff: &Staff) -> String {
    let hunt = app
        .draft_hunt(staff, paris_area(), json!({"team_max_size": 5}))
        .await;
    app.import(
        staff,
        &hunt,
        collection(vec![circle("t", EIFFEL.0, EIFFEL.1, 30.0, 3)]),
    )
    .await;
    app.publish(staff, &hunt).await;
    hunt
}

/// A transaction holding the hunt's row `for update`, on its own connection: every writer batch
/// with a check-in of that hunt waits for it.
async fn lock(app: &TestApp, hunt: &str) -> AsyncPgConnection {
    let mut holder = AsyncPgConnection::establish(&app.db_url).await.unwrap();
    diesel::sql_query("begin")
        .execute(&mut holder)
        .await
        .unwrap();
    diesel::sql_query(format!(
        "select 1 from hunts where id = '{hunt}' for update"
    ))
    .execute(&mut holder)
    .await
    .unwrap();
    holder
}

/// `n` players in a new team of `hunt` whose check-ins go to writer `writer` of the node (teams are
/// made until one lands there; the others stay empty of check-ins).
async fn team_on_writer(app: &TestApp, hunt: &str, n: usize, writer: usize) -> Vec<Player> {
    loop {
        let (captain, team) = app.new_team(hunt).await;
        let id: uuid::Uuid = team["team_id"].as_str().expect("team_id").parse().unwrap();
        if nenufar::service::checkin_writer::writer_of(nenufar::domain::ids::TeamId(id)) == writer {
            let mut members = vec![captain];
            members.extend(app.joiners(&team["invite_code"], n - 1).await);
            return members;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_that_lose_their_connection_twice_are_still_stored_once() {
    let app = TestApp::spawn().await;
    let staff = app.staff().await;
    let hunt = live_hunt(&app, &staff).await;
    let other = live_hunt(&app, &staff).await;
    let last = nenufar::service::checkin_writer::WRITERS - 1;
    // One team on each writer but the last, four on the last (a team's check-ins all go to one
    // writer), and a loner of the other hunt on the last writer too.
    let mut teams = Vec::new();
    for w in 0..last {
        teams.push(team_on_writer(&app, &hunt, 1, w).await);
    }
    for _ in 0..4 {
        teams.push(team_on_writer(&app, &hunt, 4, last).await);
    }
    let loner = team_on_writer(&app, &other, 1, last).await.remove(0);
    let players: Vec<(usize, &Player)> = teams
        .iter()
        .enumerate()
        .flat_map(|(t, members)| members.iter().map(move |p| (t, p)))
        .collect();
    let mut holder = lock(&app, &hunt).await;
    let mut other_holder = lock(&app, &other).await;
    let mut admin = AsyncPgConnection::establish(&app.db_url).await.unwrap();
    let post = |hunt: &str, p: &Player, i: usize| {
        let lat = EIFFEL.0 + if i % 2 == 0 { 0.0 } else { 0.01 };
        let body = checkin_body(lat, EIFFEL.1, 5.0, Utc::now());
        let task = app.spawn_post(
            &format!("/v1/hunts/{hunt}/checkins"),
            &p.token,
            body.clone(),
        );
        (body, task)
    };

    // The first writers wait with one check-in each, the last with the other hunt's; sixteen more
    // check-ins queue for the last, and it takes them all as one batch once its hunt is free.
    let mut sent = Vec::new();
    let mut seen: Vec<i32> = Vec::new();
    for (i, (_, p)) in players.iter().enumerate().take(last) {
        sent.push(post(&hunt, p, i));
        seen.extend(waiting_writers(&mut admin, 1, &seen).await);
    }
    let (_, lone) = post(&other, &loner, 0);
    seen.extend(waiting_writers(&mut admin, 1, &seen).await);
    for (i, (_, p)) in players.iter().enumerate().skip(last) {
        sent.push(post(&hunt, p, i));
    }
    until_metric(&app, "nenufar_checkin_writer_queue", 16.0).await;
    diesel::sql_query("rollback")
        .execute(&mut other_holder)
        .await
        .unwrap();
    let (status, _) = lone.await.unwrap();
    assert_eq!(status, StatusCode::OK);
    until_metric(&app, "nenufar_checkin_writer_queue", 0.0).await;

    // All four batches lose their connections, then so do their re-runs (each writer holds on to
    // its batch meanwhile, so the next four waiting are those re-runs).
    let first = waiting_writers(&mut admin, 4, &[]).await;
    assert_eq!(first.len(), 4);
    terminate(&mut admin, &first).await;
    let second = waiting_writers(&mut admin, 4, &first).await;
    terminate(&mut admin, &second).await;
    diesel::sql_query("rollback")
        .execute(&mut holder)
        .await
        .unwrap();

    let mut answers = Vec::new();
    for (body, task) in sent {
        let (status, answer) = task.await.unwrap();
        assert_eq!(status, StatusCode::OK, "{answer}");
        answers.push((body, answer));
    }
    let (reconnects, lines) = batch_reruns_for(&app, "reconnect").await;
    assert_eq!(reconnects, 4.0, "{lines:?}");
    let (one_by_one, lines) = batch_reruns_for(&app, "one_by_one").await;
    assert_eq!(one_by_one, 4.0, "{lines:?}");

    // Each check-in is stored once, with the answer its request got; the target counted once
    // per team.
    // A team finds the target with its first check-in at the target (even positions).
    let finding_teams = {
        let mut t: Vec<usize> = players
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 2 == 0)
            .map(|(_, (t, _))| *t)
            .collect();
        t.dedup();
        t.len()
    };
    assert_eq!(app.count("checkins").await, players.len() as i64 + 1);
    assert_eq!(app.count("finds").await, finding_teams as i64 + 1);
    for (body, answer) in &answers {
        let key = body["idempotency_key"].as_str().unwrap();
        #[derive(diesel::QueryableByName)]
        struct Response {
            #[diesel(sql_type = diesel::sql_types::Jsonb)]
            response: Value,
        }
        let stored: Response = diesel::sql_query(format!(
            "select response from checkins where idempotency_key = '{key}'"
        ))
        .get_result(&mut admin)
        .await
        .unwrap();
        assert_eq!(&answered(&stored.response), answer);
    }
    let found = answers
        .iter()
        .filter(|(_, a)| a["verdict"] == json!("found"))
        .count();
    assert_eq!(found, finding_teams);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hunt_changed_under_waiting_batches_costs_only_a_re_judgement() {
    let app = TestApp::spawn().await;
    let staff = app.staff().await;
    let hunt = live_hunt(&app, &staff).await;
    let mut players = Vec::new();
    for _ in 0..4 {
        players.extend(app.team_of(&hunt, 5).await);
    }
    let mut holder = lock(&app, &hunt).await;
    let mut admin = AsyncPgConnection::establish(&app.db_url).await.unwrap();
    let path = format!("/v1/hunts/{hunt}/checkins");
    let sent: Vec<_> = players
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let lat = EIFFEL.0 + if i % 2 == 0 { 0.0 } else { 0.01 };
            let body = checkin_body(lat, EIFFEL.1, 5.0, Utc::now());
            (body.clone(), app.spawn_post(&path, &p.token, body))
        })
        .collect();
    // While batches wait, the hunt changes (its revision moves) and the change commits.
    waiting_writers(&mut admin, 1, &[]).await;
    diesel::sql_query(format!(
        "update hunts set title = title || ' (renamed)' where id = '{hunt}'"
    ))
    .execute(&mut holder)
    .await
    .unwrap();
    diesel::sql_query("commit")
        .execute(&mut holder)
        .await
        .unwrap();

    for (_, task) in sent {
        let (status, answer) = task.await.unwrap();
        assert_eq!(status, StatusCode::OK, "{answer}");
    }
    let (reruns, lines) = batch_reruns_for(&app, "").await;
    assert_eq!(reruns, 0.0, "batches ran again: {lines:?}");
    assert!(metric(&app, "nenufar_checkins_stale_total").await >= 1.0);
    assert_eq!(app.count("checkins").await, players.len() as i64);
    assert_eq!(app.count("finds").await, 4);
}
