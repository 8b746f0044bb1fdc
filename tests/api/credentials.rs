//! Credentials at rest: after logins, a failed login, a sign-up and some play, no column of any
//! table holds a bearer token or a password in clear or in an obvious encoding (hex, base64),
//! while the scan does see their hashes (so it reaches the tables that hold them).

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use reqwest::StatusCode;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::live::rows;
use crate::support::*;

/// `bytes` as lower-case hex: how PostgreSQL shows a `bytea` (after `\x`).
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What would give `secret` away: itself, its hex and its base64 forms; for a token, also the
/// random bytes after its prefix, raw (as a `bytea` shows them) and as printed.
fn giveaways(secret: &str) -> Vec<String> {
    let mut forms = vec![secret.to_owned(), hex(secret.as_bytes())];
    for engine in [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD] {
        forms.push(engine.encode(secret));
    }
    if let Some((_, random)) = secret.split_once('_')
        && let Ok(bytes) = URL_SAFE_NO_PAD.decode(random)
    {
        forms.push(random.to_owned());
        forms.push(hex(&bytes));
    }
    forms
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_table_holds_a_token_or_a_password_in_clear_or_in_an_obvious_encoding() {
    let app = TestApp::spawn().await;
    // The owner's password is the harness's (`TestApp::staff`).
    let owner = app.staff().await;
    let owner_password = "correct horse battery";
    let email = format!("editor-{}@brand.example", uuid::Uuid::new_v4().simple());
    let editor_password = "a quite distinctive passphrase";
    let (status, body) = app
        .post(
            "/v1/staff",
            Some(&owner.token),
            json!({"email": email, "password": editor_password, "role": "editor"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let wrong_password = "not the editor's passphrase";
    let (status, _) = app
        .post(
            "/v1/staff/login",
            None,
            json!({"email": email, "password": wrong_password}),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = app
        .post(
            "/v1/staff/login",
            None,
            json!({"email": email, "password": editor_password}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let editor_token = body["token"].as_str().unwrap().to_owned();
    // A player who plays: a team, a check-in.
    let hunt = app.draft_hunt(&owner, paris_area(), json!({})).await;
    app.import(
        &owner,
        &hunt,
        collection(vec![circle("Tour Eiffel", 48.85837, 2.29448, 40.0, 5)]),
    )
    .await;
    app.publish(&owner, &hunt).await;
    let player = app.player_in_team(&hunt).await;
    app.check_in(&player, &hunt, 48.85837, 2.29448, 5.0).await;

    // Every row of every table, as JSON text (a bytea shows as hex).
    let tables = rows(
        &app.db_url,
        "select table_name as t from information_schema.tables \
         where table_schema = 'public' and table_type = 'BASE TABLE' \
           and table_name <> 'spatial_ref_sys'",
    )
    .await;
    let mut stored = String::new();
    for t in &tables {
        let t = t["t"].as_str().unwrap();
        for row in rows(&app.db_url, &format!("select * from \"{t}\"")).await {
            stored.push_str(&format!("{t}: {row}\n"));
        }
    }

    for (what, secret) in [
        ("the owner's token", owner.token.as_str()),
        ("the editor's token", editor_token.as_str()),
        ("the player's token", player.token.as_str()),
        ("the owner's password", owner_password),
        ("the editor's password", editor_password),
        ("a wrong password", wrong_password),
    ] {
        for form in giveaways(secret) {
            let at = stored.lines().find(|l| l.contains(&form));
            assert!(
                at.is_none(),
                "{what} is stored as {form:?}: {}",
                at.unwrap_or("")
            );
        }
    }
    // What is stored instead, where the scan looked.
    for token in [&owner.token, &editor_token, &player.token] {
        let hash = hex(&Sha256::digest(token.as_bytes()));
        assert!(stored.contains(&hash), "the scan misses the tokens' table");
    }
    let argon2 = stored.lines().filter(|l| l.contains("$argon2")).count();
    assert_eq!(argon2, 2, "two staff password hashes seen");
}
