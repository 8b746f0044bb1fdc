//! What a check-in is judged against, read on a cache miss: a hunt's gate at its current
//! revision (`service::checkin_cache` keeps it in memory; a player's team there comes from
//! `teams::membership`).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Double, Int4, Int8, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::prepared::prepared;
use crate::domain::geofence::AccuracyPolicy;
use crate::domain::hunt::{HuntGate, HuntStatus, Rules, Schedule};
use crate::domain::ids::HuntId;

#[derive(QueryableByName)]
struct GateRow {
    #[diesel(sql_type = Int8)]
    revision: i64,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = Timestamptz)]
    teaser_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    live_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    ends_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    archive_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Text)]
    accuracy_policy: String,
    #[diesel(sql_type = Double)]
    max_accuracy_m: f64,
    #[diesel(sql_type = Int4)]
    team_max_size: i32,
    #[diesel(sql_type = Int8)]
    targets_version: i64,
    #[diesel(sql_type = Double)]
    checkin_interval_s: f64,
    #[diesel(sql_type = Int4)]
    checkin_burst: i32,
}

/// A hunt's gate at its current revision; `None` when it does not exist or is a draft.
pub async fn gate(conn: &mut AsyncPgConnection, hunt: HuntId) -> QueryResult<Option<HuntGate>> {
    let row: Option<GateRow> = prepared(
        diesel::sql_query(
            "select revision, status, teaser_at, live_at, ends_at, archive_at, accuracy_policy, \
                    max_accuracy_m, team_max_size, targets_version, checkin_interval_s, checkin_burst \
             from hunts where id = $1 and status <> 'draft'",
        )
        .bind::<SqlUuid, _>(hunt.0),
    )
    .get_result(conn)
    .await
    .optional()?;
    Ok(row.map(|r| HuntGate {
        revision: r.revision,
        status: HuntStatus::parse(&r.status).unwrap_or(HuntStatus::Draft),
        schedule: Schedule {
            teaser_at: r.teaser_at,
            live_at: r.live_at,
            ends_at: r.ends_at,
            archive_at: r.archive_at,
        },
        rules: Rules {
            accuracy_policy: AccuracyPolicy::parse(&r.accuracy_policy).unwrap_or_default(),
            max_accuracy_m: r.max_accuracy_m,
            team_max_size: r.team_max_size,
            checkin_interval_s: r.checkin_interval_s,
            checkin_burst: r.checkin_burst,
        },
        targets_version: r.targets_version,
    }))
}
