//! Stored check-in answers and their formats (`service::checkin_stored`): what a row holds, and
//! that a row written in an older format still answers its key's replay.

use chrono::Utc;
use reqwest::StatusCode;
use serde_json::json;

use crate::checkins::{EIFFEL, live_hunt_with, north_of};
use crate::support::*;

/// Stored answers carry their format (`service::checkin_stored`); a row written before formats
/// existed (format 1: the API response itself) still answers its key's replay, as it was.
#[tokio::test]
async fn a_replay_of_an_answer_stored_in_the_first_format_answers_as_it_was_given() {
    use diesel_async::{AsyncConnection, RunQueryDsl};
    #[derive(diesel::QueryableByName)]
    struct Format {
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        v: Option<String>,
    }
    let app = TestApp::spawn().await;
    let staff = app.staff().await;
    let (hunt, _) = live_hunt_with(
        &app,
        &staff,
        json!({}),
        vec![circle("c", EIFFEL.0, EIFFEL.1, 40.0, 3)],
    )
    .await;
    let p = app.player_in_team(&hunt).await;
    let path = format!("/v1/hunts/{hunt}/checkins");
    let found = checkin_body(EIFFEL.0, EIFFEL.1, 8.0, Utc::now());
    let nothing = checkin_body(north_of(EIFFEL.0, 500.0), EIFFEL.1, 8.0, Utc::now());
    let (_, found_answer) = app.post(&path, Some(&p.token), found.clone()).await;
    let (_, nothing_answer) = app.post(&path, Some(&p.token), nothing.clone()).await;
    assert_eq!(
        (
            found_answer["verdict"].as_str(),
            nothing_answer["verdict"].as_str()
        ),
        (Some("found"), Some("nothing_here"))
    );

    let mut conn = diesel_async::AsyncPgConnection::establish(&app.db_url)
        .await
        .unwrap();
    let formats: Vec<Format> =
        diesel::sql_query("select response ->> 'v' as v from checkins order by received_at")
            .load(&mut conn)
            .await
            .unwrap();
    let formats: Vec<Option<String>> = formats.into_iter().map(|f| f.v).collect();
    assert_eq!(formats, vec![Some("2".to_owned()), Some("2".to_owned())]);
    // Back to format 1, as rows written before this format was introduced are (past the
    // append-only trigger, for this session only).
    diesel::sql_query("set session_replication_role = replica")
        .execute(&mut conn)
        .await
        .unwrap();
    let rewritten = diesel::sql_query("update checkins set response = response - 'v'")
        .execute(&mut conn)
        .await
        .unwrap();
    assert_eq!(rewritten, 2);

    for (body, answer) in [(found, found_answer), (nothing, nothing_answer)] {
        let (status, replayed) = app.post(&path, Some(&p.token), body).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            replayed, answer,
            "a format-1 row replays its answer unchanged"
        );
    }
    assert_eq!(app.count("checkins").await, 2);
    assert_eq!(app.count("finds").await, 1);
}
