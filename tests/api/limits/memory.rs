//! Password hashing is bounded by construction: a real `nenufar serve` process keeps its resident
//! memory near its floor through bursts of concurrent wrong-password logins, all of them hashed.

use reqwest::StatusCode;
use serde_json::json;

use super::*;
use crate::nodes::Node;
use crate::support::*;

/// VmRSS of a process, bytes.
fn rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kb * 1024
}

async fn burst(node: &Node, email: &str, n: usize) {
    let attempts: Vec<_> = (0..n)
        .map(|i| {
            let (client, url) = (
                node.app.client.clone(),
                format!("{}/v1/staff/login", node.app.base),
            );
            let body = json!({"email": email, "password": format!("wrong {i}")});
            tokio::spawn(async move { client.post(url).json(&body).send().await.unwrap().status() })
        })
        .collect();
    for a in attempts {
        assert_eq!(a.await.unwrap(), StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn rss_stays_near_its_floor_after_four_bursts_of_64_concurrent_wrong_logins_all_hashed() {
    let db = fresh_database().await;
    // The load-test profile: no limit refuses a login, the queue holds every burst.
    let node = Node::start_with(&db, &[("NENUFAR_PASSWORD_QUEUE", "256")]).await;
    let email = format!("owner-{}@brand.example", uuid::Uuid::new_v4().simple());
    nenufar::service::orgs::create_org(
        &node.app.state.ctx,
        "Brand",
        &email,
        "correct horse".into(),
    )
    .await
    .unwrap();
    // Warm-up: a few logins one after the other (every hashing thread has its blocks).
    for _ in 0..8 {
        burst(&node, &email, 2).await;
    }
    let floor = rss(node.pid());
    let hashed_before = metric(&node.app, "nenufar_password_hashes_total").await;
    for _ in 0..4 {
        burst(&node, &email, 64).await;
    }
    let after = rss(node.pid());
    let hashed = metric(&node.app, "nenufar_password_hashes_total").await - hashed_before;
    assert_eq!(hashed, 256.0, "every login of the bursts was hashed");
    assert!(
        after <= floor + 100 * 1024 * 1024,
        "RSS {} MiB after the bursts, floor {} MiB",
        after >> 20,
        floor >> 20
    );
}
