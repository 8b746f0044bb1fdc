//! Hunts: insert, read per organisation, update, status, targets version, and the nearby search.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Double, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use postgis_diesel::types::{MultiPolygon, Point};

use super::schema::hunts;
use crate::domain::geofence::AccuracyPolicy;
use crate::domain::hunt::{HuntStatus, Rules, Schedule};
use crate::domain::ids::{HuntId, OrgId};
use crate::domain::position::LatLon;
use crate::spatial::polygon::Rings;

/// A hunt as stored.
#[derive(Debug, Clone)]
pub struct HuntRecord {
    pub id: HuntId,
    pub org: OrgId,
    pub title: String,
    pub city: String,
    /// The hunt's area as polygons of rings (read from PostGIS once, here).
    pub area: Vec<Rings>,
    pub schedule: Schedule,
    pub status: HuntStatus,
    pub rules: Rules,
    pub targets_version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// A game master froze the leaderboard (players see it as it was then).
    pub leaderboard_frozen: bool,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = hunts)]
struct HuntRow {
    id: uuid::Uuid,
    org_id: uuid::Uuid,
    title: String,
    city: String,
    area: MultiPolygon<Point>,
    teaser_at: DateTime<Utc>,
    live_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    archive_at: Option<DateTime<Utc>>,
    status: String,
    // Nested, so the row stays within diesel's 16-element tuples.
    #[diesel(embed)]
    rules: RuleColumns,
    targets_version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    // Beyond diesel's 16 columns of `schema::hunts`: read as an expression.
    #[diesel(select_expression = diesel::dsl::sql::<diesel::sql_types::Bool>("frozen_at_offset is not null"))]
    #[diesel(select_expression_type = diesel::expression::SqlLiteral<diesel::sql_types::Bool>)]
    leaderboard_frozen: bool,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = hunts)]
struct RuleColumns {
    accuracy_policy: String,
    max_accuracy_m: f64,
    team_max_size: i32,
    checkin_interval_s: f64,
    checkin_burst: i32,
}

impl From<HuntRow> for HuntRecord {
    fn from(r: HuntRow) -> Self {
        Self {
            id: HuntId(r.id),
            org: OrgId(r.org_id),
            title: r.title,
            city: r.city,
            area: super::geo::rings_of(&r.area),
            schedule: Schedule {
                teaser_at: r.teaser_at,
                live_at: r.live_at,
                ends_at: r.ends_at,
                archive_at: r.archive_at,
            },
            // The table's check constraints allow only the names we parse.
            status: HuntStatus::parse(&r.status).unwrap_or(HuntStatus::Draft),
            rules: Rules {
                accuracy_policy: AccuracyPolicy::parse(&r.rules.accuracy_policy)
                    .unwrap_or_default(),
                max_accuracy_m: r.rules.max_accuracy_m,
                team_max_size: r.rules.team_max_size,
                checkin_interval_s: r.rules.checkin_interval_s,
                checkin_burst: r.rules.checkin_burst,
            },
            targets_version: r.targets_version,
            created_at: r.created_at,
            updated_at: r.updated_at,
            leaderboard_frozen: r.leaderboard_frozen,
        }
    }
}

/// The editable fields of a hunt.
#[derive(Debug, Clone)]
pub struct HuntFields {
    pub title: String,
    pub city: String,
    pub area: MultiPolygon<Point>,
    pub schedule: Schedule,
    pub rules: Rules,
}

/// The editable columns, shared by insert and update.
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = hunts)]
struct EditableColumns<'a> {
    title: &'a str,
    city: &'a str,
    area: &'a MultiPolygon<Point>,
    teaser_at: DateTime<Utc>,
    live_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    #[diesel(treat_none_as_null = true)]
    archive_at: Option<DateTime<Utc>>,
    accuracy_policy: &'a str,
    max_accuracy_m: f64,
    team_max_size: i32,
    checkin_interval_s: f64,
    checkin_burst: i32,
}

impl<'a> From<&'a HuntFields> for EditableColumns<'a> {
    fn from(f: &'a HuntFields) -> Self {
        Self {
            title: &f.title,
            city: &f.city,
            area: &f.area,
            teaser_at: f.schedule.teaser_at,
            live_at: f.schedule.live_at,
            ends_at: f.schedule.ends_at,
            archive_at: f.schedule.archive_at,
            accuracy_policy: f.rules.accuracy_policy.as_str(),
            max_accuracy_m: f.rules.max_accuracy_m,
            team_max_size: f.rules.team_max_size,
            checkin_interval_s: f.rules.checkin_interval_s,
            checkin_burst: f.rules.checkin_burst,
        }
    }
}

/// Inserts a draft hunt.
pub async fn insert(
    conn: &mut AsyncPgConnection,
    id: HuntId,
    org: OrgId,
    f: &HuntFields,
) -> QueryResult<HuntRecord> {
    diesel::insert_into(hunts::table)
        .values((
            hunts::id.eq(id.0),
            hunts::org_id.eq(org.0),
            EditableColumns::from(f),
        ))
        .returning(HuntRow::as_returning())
        .get_result(conn)
        .await
        .map(Into::into)
}

/// Rewrites the editable fields.
pub async fn update(
    conn: &mut AsyncPgConnection,
    id: HuntId,
    f: &HuntFields,
) -> QueryResult<HuntRecord> {
    diesel::update(hunts::table.find(id.0))
        .set((
            EditableColumns::from(f),
            hunts::updated_at.eq(diesel::dsl::now),
        ))
        .returning(HuntRow::as_returning())
        .get_result(conn)
        .await
        .map(Into::into)
}

/// The organisation's hunts, newest first.
pub async fn list_for_org(
    conn: &mut AsyncPgConnection,
    org: OrgId,
) -> QueryResult<Vec<HuntRecord>> {
    let rows: Vec<HuntRow> = hunts::table
        .filter(hunts::org_id.eq(org.0))
        .order(hunts::created_at.desc())
        .select(HuntRow::as_select())
        .load(conn)
        .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// A hunt of this organisation; another organisation's hunt is `None`, as is a missing one.
/// `lock` takes a row lock for the rest of the transaction.
pub async fn get_for_org(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    id: HuntId,
    lock: bool,
) -> QueryResult<Option<HuntRecord>> {
    let query = hunts::table
        .filter(hunts::id.eq(id.0))
        .filter(hunts::org_id.eq(org.0))
        .select(HuntRow::as_select());
    let row: Option<HuntRow> = if lock {
        query.for_update().first(conn).await.optional()?
    } else {
        query.first(conn).await.optional()?
    };
    Ok(row.map(Into::into))
}

/// Whether the hunt exists and belongs to this organisation. Reads no geometry: the first
/// PostGIS value a database session returns costs it about 12 ms (loading the library).
pub async fn belongs_to_org(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    id: HuntId,
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        hunts::table
            .filter(hunts::id.eq(id.0))
            .filter(hunts::org_id.eq(org.0)),
    ))
    .get_result(conn)
    .await
}

/// Sets the status.
pub async fn set_status(
    conn: &mut AsyncPgConnection,
    id: HuntId,
    status: HuntStatus,
) -> QueryResult<HuntRecord> {
    diesel::update(hunts::table.find(id.0))
        .set((
            hunts::status.eq(status.as_str()),
            hunts::updated_at.eq(diesel::dsl::now),
        ))
        .returning(HuntRow::as_returning())
        .get_result(conn)
        .await
        .map(Into::into)
}

/// Bumps `targets_version` after a target change; returns the new version.
pub async fn bump_targets_version(conn: &mut AsyncPgConnection, id: HuntId) -> QueryResult<i64> {
    diesel::update(hunts::table.find(id.0))
        .set(hunts::targets_version.eq(hunts::targets_version + 1))
        .returning(hunts::targets_version)
        .get_result(conn)
        .await
}

/// A published hunt, as the nearby search returns it (never target positions).
#[derive(Debug, Clone, QueryableByName)]
pub struct NearbyHunt {
    #[diesel(sql_type = SqlUuid)]
    pub id: uuid::Uuid,
    #[diesel(sql_type = Text)]
    pub title: String,
    #[diesel(sql_type = Text)]
    pub city: String,
    #[diesel(sql_type = Timestamptz)]
    pub teaser_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    pub live_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    pub ends_at: DateTime<Utc>,
    #[diesel(sql_type = diesel::sql_types::Nullable<Timestamptz>)]
    pub archive_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Double)]
    pub min_lon: f64,
    #[diesel(sql_type = Double)]
    pub min_lat: f64,
    #[diesel(sql_type = Double)]
    pub max_lon: f64,
    #[diesel(sql_type = Double)]
    pub max_lat: f64,
}

/// Published (or paused) hunts in phase teaser or live at `now` whose area comes within `radius_m`
/// of `at`, nearest first, at most 100. Uses the GiST index on `area`.
pub async fn nearby(
    conn: &mut AsyncPgConnection,
    at: LatLon,
    radius_m: f64,
    now: DateTime<Utc>,
) -> QueryResult<Vec<NearbyHunt>> {
    super::prepared::prepared(
        diesel::sql_query(
            "select id, title, city, teaser_at, live_at, ends_at, archive_at, \
                st_xmin(area::geometry) as min_lon, st_ymin(area::geometry) as min_lat, \
                st_xmax(area::geometry) as max_lon, st_ymax(area::geometry) as max_lat \
         from hunts \
         where status in ('published', 'paused') \
           and teaser_at <= $3 and ends_at > $3 and (archive_at is null or archive_at > $3) \
           and st_dwithin(area, st_setsrid(st_makepoint($1, $2), 4326)::geography, $4) \
         order by st_distance(area, st_setsrid(st_makepoint($1, $2), 4326)::geography), id \
         limit 100",
        )
        .bind::<Double, _>(at.lon())
        .bind::<Double, _>(at.lat())
        .bind::<Timestamptz, _>(now)
        .bind::<Double, _>(radius_m),
    )
    .load(conn)
    .await
}

/// Whether players may see the hunt at all (published or paused; drafts are invisible).
pub async fn is_visible_to_players(conn: &mut AsyncPgConnection, id: HuntId) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        hunts::table.find(id.0).filter(hunts::status.ne("draft")),
    ))
    .get_result(conn)
    .await
}

/// Whether the leaderboard is frozen: the offset it was frozen at.
pub async fn frozen_at(conn: &mut AsyncPgConnection, id: HuntId) -> QueryResult<Option<i64>> {
    super::prepared::prepared(
        diesel::sql_query("select frozen_at_offset from hunts where id = $1")
            .bind::<SqlUuid, _>(id.0),
    )
    .get_result::<FrozenAt>(conn)
    .await
    .map(|r| r.frozen_at_offset)
}

#[derive(QueryableByName)]
struct FrozenAt {
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    frozen_at_offset: Option<i64>,
}

/// Freezes the leaderboard at the hunt's latest numbered offset, or unfreezes it.
pub async fn set_frozen(conn: &mut AsyncPgConnection, id: HuntId, frozen: bool) -> QueryResult<()> {
    let sql = if frozen {
        "update hunts set frozen_at_offset = coalesce((select max(event_offset) from events where hunt_id = $1), 0) where id = $1"
    } else {
        "update hunts set frozen_at_offset = null where id = $1"
    };
    super::prepared::prepared(diesel::sql_query(sql).bind::<SqlUuid, _>(id.0))
        .execute(conn)
        .await
        .map(drop)
}

/// A hunt whose phase must be announced: its schedule and the last phase announced.
#[derive(Debug, Clone, QueryableByName)]
pub struct PhaseCandidate {
    #[diesel(sql_type = SqlUuid)]
    pub id: uuid::Uuid,
    #[diesel(sql_type = Timestamptz)]
    pub teaser_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    pub live_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    pub ends_at: DateTime<Utc>,
    #[diesel(sql_type = diesel::sql_types::Nullable<Timestamptz>)]
    pub archive_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    pub announced_phase: Option<String>,
}

/// Published or paused hunts not yet announced as archived.
pub async fn phase_candidates(conn: &mut AsyncPgConnection) -> QueryResult<Vec<PhaseCandidate>> {
    super::prepared::prepared(diesel::sql_query(
        "select id, teaser_at, live_at, ends_at, archive_at, announced_phase from hunts \
         where status <> 'draft' and announced_phase is distinct from 'archived'",
    ))
    .load(conn)
    .await
}

/// Moves `announced_phase` from `from` to `to`; false when another node already did.
pub async fn announce_phase(
    conn: &mut AsyncPgConnection,
    id: HuntId,
    from: Option<&str>,
    to: &str,
) -> QueryResult<bool> {
    let n = super::prepared::prepared(diesel::sql_query("update hunts set announced_phase = $3 where id = $1 and announced_phase is not distinct from $2")
        .bind::<SqlUuid, _>(id.0)
        .bind::<diesel::sql_types::Nullable<Text>, _>(from)
        .bind::<Text, _>(to))
        .execute(conn)
        .await?;
    Ok(n == 1)
}

/// Whether the leaderboard is frozen, holding a share lock on the hunt until the transaction ends:
/// a freeze (which locks the row for update) then waits for the score changes already under way,
/// so none of them is announced hunt-wide after the freeze.
pub async fn frozen_for_share(conn: &mut AsyncPgConnection, id: HuntId) -> QueryResult<bool> {
    #[derive(QueryableByName)]
    struct Frozen {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        frozen: bool,
    }
    let f: Frozen = super::prepared::prepared(
        diesel::sql_query(
            "select frozen_at_offset is not null as frozen from hunts where id = $1 for share",
        )
        .bind::<SqlUuid, _>(id.0),
    )
    .get_result(conn)
    .await?;
    Ok(f.frozen)
}

/// Which of `ids` are archived at `now` (`archive_at` passed): the cache sweep lets them go.
pub async fn archived_among(
    conn: &mut AsyncPgConnection,
    ids: &[uuid::Uuid],
    now: DateTime<Utc>,
) -> QueryResult<Vec<HuntId>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    hunts::table
        .filter(hunts::id.eq_any(ids))
        .filter(hunts::archive_at.le(now))
        .select(hunts::id)
        .load::<uuid::Uuid>(conn)
        .await
        .map(|v| v.into_iter().map(HuntId).collect())
}
