//! Check-in rate limits: per player in the hunt (the hunt's rule capped by the server ceiling)
//! and per address; 429 with Retry-After, nothing stored, replays never counted.

use reqwest::{Method, StatusCode};
use serde_json::json;

use super::*;
use crate::support::*;

/// A 35 m grid over the Eiffel Tower's neighbourhood, as the sweep of issue 9 used.
fn grid(i: usize) -> (f64, f64) {
    let (row, col) = (i / 20, i % 20);
    (
        48.855 + row as f64 * 0.000315,
        2.290 + col as f64 * 0.000478,
    )
}

#[tokio::test]
async fn a_sweep_of_200_check_ins_in_10_s_gets_429_after_the_burst_and_stores_none_of_them() {
    let app = TestApp::spawn_with_limits(limits_from(&[])).await;
    // The hunt's rules say nothing of the pace: the defaults (5 at once, then one per 5 s).
    let hunt = live_hunt(&app, json!({})).await;
    let player = app.player_in_team(&hunt).await;
    let path = format!("/v1/hunts/{hunt}/checkins");
    let started = std::time::Instant::now();
    let (mut admitted, mut refused) = (0, 0);
    for i in 0..200 {
        let (lat, lon) = grid(i);
        let (status, headers, body) = call(
            &app,
            Method::POST,
            &path,
            Some(&player.token),
            Some(body_at(lat, lon)),
            None,
        )
        .await;
        if status == StatusCode::OK {
            admitted += 1;
        } else {
            let after = assert_rate_limited(status, &headers, &body);
            assert!(after <= 5, "Retry-After {after}");
            refused += 1;
        }
    }
    // The burst, then one per 5 s at most (a second cell if the loop took over 5 s).
    let refills = (started.elapsed().as_secs_f64() / 5.0).ceil() as usize;
    assert!((5..=5 + refills).contains(&admitted), "{admitted} admitted");
    assert_eq!(admitted + refused, 200);
    assert_eq!(
        checkins_of(&app, &player).await,
        admitted as i64,
        "refused check-ins are not stored"
    );
    assert_eq!(
        metric(
            &app,
            "nenufar_rate_limited_total{limiter=\"checkins_per_player\"}"
        )
        .await,
        refused as f64
    );
}

#[tokio::test]
async fn a_replay_while_limited_answers_the_stored_response_and_admitted_replays_cost_nothing() {
    let app = TestApp::spawn_with_limits(limits_from(&[])).await;
    // Two check-ins, then one an hour.
    let hunt = live_hunt(
        &app,
        json!({"checkin_interval_s": 3600, "checkin_burst": 2}),
    )
    .await;
    let player = app.player_in_team(&hunt).await;
    let path = format!("/v1/hunts/{hunt}/checkins");
    let first = body_at(48.85837, 2.29448);
    let (status, stored) = app.post(&path, Some(&player.token), first.clone()).await;
    assert_eq!(status, StatusCode::OK, "{stored}");
    assert_eq!(stored["verdict"], "found");
    // An app flushing its offline queue after losing the answer: each replay is admitted by the
    // limiter (one cell left) and gives its cell back once the writer knows the key.
    for _ in 0..5 {
        let (status, body) = app.post(&path, Some(&player.token), first.clone()).await;
        assert_eq!((status, &body), (StatusCode::OK, &stored));
    }
    // So the second cell is still there for a new check-in...
    let (status, body) = app
        .post(&path, Some(&player.token), body_at(48.86, 2.30))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // ...and now the player is limited.
    let (status, headers, body) = call(
        &app,
        Method::POST,
        &path,
        Some(&player.token),
        Some(body_at(48.861, 2.301)),
        None,
    )
    .await;
    assert!(assert_rate_limited(status, &headers, &body) > 3000);
    // A replay of a known key while limited is answered from storage, not refused.
    let (status, body) = app.post(&path, Some(&player.token), first.clone()).await;
    assert_eq!((status, &body), (StatusCode::OK, &stored));
    // The same key with another body is still 409, limited or not.
    let mut other = first.clone();
    other["lat"] = json!(48.87);
    let (status, body) = app.post(&path, Some(&player.token), other).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(checkins_of(&app, &player).await, 2);
    assert_eq!(
        metric(&app, "nenufar_checkins_replayed_total").await,
        6.0,
        "five admitted replays and one while limited"
    );
}

#[tokio::test]
async fn the_per_address_check_in_limit_sits_above_the_per_player_one_and_forwarded_clients_count_apart()
 {
    let app = TestApp::spawn_with_limits(limits_from(&[
        ("NENUFAR_RATE_CHECKINS_PER_ADDRESS", "1/h,10"),
        ("NENUFAR_TRUSTED_PROXIES", "127.0.0.1"),
    ]))
    .await;
    let hunt = live_hunt(
        &app,
        json!({"checkin_interval_s": 3600, "checkin_burst": 3}),
    )
    .await;
    let path = format!("/v1/hunts/{hunt}/checkins");
    let mut players = Vec::new();
    for _ in 0..4 {
        players.push(app.player_in_team(&hunt).await);
    }
    let venue = Some("198.51.100.7");
    let mut answers = Vec::new();
    for p in &players {
        for _ in 0..3 {
            let (status, headers, body) = call(
                &app,
                Method::POST,
                &path,
                Some(&p.token),
                Some(body_at(48.86, 2.30)),
                venue,
            )
            .await;
            answers.push((status, headers, body));
        }
    }
    // Three players get their whole burst behind one address; the fourth gets the tenth
    // check-in of the address, then the address is limited (not the player: it has two left).
    let statuses: Vec<StatusCode> = answers.iter().map(|a| a.0).collect();
    assert_eq!(statuses[..10], [StatusCode::OK; 10]);
    for (status, headers, body) in &answers[10..] {
        assert_rate_limited(*status, headers, body);
    }
    assert_eq!(
        metric(
            &app,
            "nenufar_rate_limited_total{limiter=\"checkins_per_address\"}"
        )
        .await,
        2.0
    );
    // Another client behind the same trusted proxy is another address.
    let (status, _, body) = call(
        &app,
        Method::POST,
        &path,
        Some(&players[3].token),
        Some(body_at(48.86, 2.30)),
        Some("203.0.113.5"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // A spoofed hop in front of the real one changes nothing: the last untrusted hop counts.
    let (status, headers, body) = call(
        &app,
        Method::POST,
        &path,
        Some(&players[3].token),
        Some(body_at(48.86, 2.30)),
        Some("203.0.113.99, 198.51.100.7"),
    )
    .await;
    assert_rate_limited(status, &headers, &body);
    // And by default the per-address burst holds a hundred players' bursts.
    let defaults = limits_from(&[]);
    let hunt_burst = nenufar::domain::hunt::Rules::default().checkin_burst as u32;
    assert!(defaults.checkins_per_address.burst >= 100 * hunt_burst);
}
