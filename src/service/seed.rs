//! Fixtures: loads a hunt directory (`hunt.json` + `targets.geojson`) as a published hunt, with its
//! schedule relative to now, and the demo organisation the `demo` command prints credentials for.

use std::path::Path;

use anyhow::Context;
use chrono::Duration;
use serde::Deserialize;

use super::Ctx;
use super::hunts::{HuntInput, create_hunt};
use super::publish::publish_hunt;
use super::targets::import_targets;
use crate::db;
use crate::domain::account::Principal;
use crate::domain::hunt::{HuntStatus, Rules, Schedule};
use crate::domain::ids::{HuntId, OrgId};
use crate::error::AppError;

/// `hunt.json` of a fixture directory.
#[derive(Debug, Deserialize)]
struct HuntFixture {
    title: String,
    city: String,
    area: serde_json::Value,
    schedule: ScheduleOffsets,
    #[serde(default)]
    rules: Rules,
}

/// Seconds relative to the moment the fixture is loaded.
#[derive(Debug, Deserialize)]
struct ScheduleOffsets {
    teaser_offset_s: i64,
    live_offset_s: i64,
    ends_offset_s: i64,
    #[serde(default)]
    archive_offset_s: Option<i64>,
}

/// Loads `dir` into `org` as a published hunt (live relative to now); returns its id.
pub async fn seed_hunt(ctx: &Ctx, owner: Principal, dir: &Path) -> anyhow::Result<HuntId> {
    let read = |name: &str| -> anyhow::Result<serde_json::Value> {
        let path = dir.join(name);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    };
    let fixture: HuntFixture = serde_json::from_value(read("hunt.json")?).context("hunt.json")?;
    let targets = read("targets.geojson")?;
    let now = ctx.clock.now();
    let at = |s: i64| now + Duration::seconds(s);
    let input = HuntInput {
        title: fixture.title,
        city: fixture.city,
        area: fixture.area,
        schedule: Schedule {
            teaser_at: at(fixture.schedule.teaser_offset_s),
            live_at: at(fixture.schedule.live_offset_s),
            ends_at: at(fixture.schedule.ends_offset_s),
            archive_at: fixture.schedule.archive_offset_s.map(at),
        },
        rules: fixture.rules,
    };
    let hunt = create_hunt(ctx, owner, &input).await.map_err(describe)?;
    import_targets(ctx, owner, hunt.id, targets)
        .await
        .map_err(describe)?;
    publish_hunt(ctx, owner, hunt.id).await.map_err(describe)?;
    Ok(hunt.id)
}

/// The demo hunt: the organisation's newest published hunt with the fixture's title while it
/// stays live for at least another hour (a demo restarted on the same embedded database keeps its
/// players, teams and finds), or a fresh one loaded from `dir`.
pub async fn demo_hunt(ctx: &Ctx, owner: Principal, dir: &Path) -> anyhow::Result<HuntId> {
    let path = dir.join("hunt.json");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let fixture: HuntFixture =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let Principal::Staff { org, .. } = owner else {
        anyhow::bail!("the demo hunt belongs to a staff member's organisation");
    };
    let now = ctx.clock.now();
    let mut conn = ctx.pool.get().await?;
    let reusable = db::hunts::list_for_org(&mut conn, org)
        .await?
        .into_iter()
        .find(|h| {
            h.title == fixture.title
                && h.status == HuntStatus::Published
                && h.schedule.live_at <= now
                && h.schedule.ends_at > now + Duration::hours(1)
        });
    drop(conn);
    match reusable {
        Some(h) => Ok(h.id),
        None => seed_hunt(ctx, owner, dir).await,
    }
}

fn describe(e: AppError) -> anyhow::Error {
    match e {
        AppError::Internal(e) => e,
        AppError::WithDetails { inner, details } => anyhow::anyhow!("{inner} ({details})"),
        other => anyhow::anyhow!("{other}"),
    }
}

/// The demo organisation's owner credentials.
pub const DEMO_ORG: &str = "Nenufar Demo Brand";
pub const DEMO_EMAIL: &str = "demo@nenufar.example";
pub const DEMO_PASSWORD: &str = "nenufar-demo";

/// The demo owner, created on first use (the embedded cluster is reused between runs).
pub async fn demo_owner(ctx: &Ctx) -> anyhow::Result<Principal> {
    let mut conn = ctx.pool.get().await?;
    if let Some(staff) = db::accounts::staff_by_email(&mut conn, DEMO_EMAIL).await? {
        return Ok(Principal::Staff {
            id: staff.id,
            org: staff.org,
            role: staff.role,
        });
    }
    drop(conn);
    let org: OrgId = super::orgs::create_org(ctx, DEMO_ORG, DEMO_EMAIL, DEMO_PASSWORD.to_owned())
        .await
        .map_err(describe)?;
    let mut conn = ctx.pool.get().await?;
    let staff = db::accounts::staff_by_email(&mut conn, DEMO_EMAIL)
        .await?
        .context("demo owner just created")?;
    debug_assert_eq!(staff.org, org);
    Ok(Principal::Staff {
        id: staff.id,
        org: staff.org,
        role: staff.role,
    })
}
