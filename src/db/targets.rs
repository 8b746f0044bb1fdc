//! Targets: batch insert, keyset-paginated listing (with the brand's metadata, for staff), load
//! for the index (without it), draft-time edits.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use postgis_diesel::types::{GeometryContainer, Point};

use super::geo;
use super::schema::targets;
use crate::domain::ids::{HuntId, TargetId};
use crate::spatial::geojson::{ShapeSpec, TargetSpec};

/// A stored target: what the engine judges with.
#[derive(Debug, Clone)]
pub struct TargetRecord {
    pub id: TargetId,
    pub name: String,
    pub points: i32,
    pub prerequisites: Vec<TargetId>,
    pub shape: ShapeSpec,
}

/// A stored target as staff see it: with the brand's metadata (never shown to players, and not
/// loaded where only the geometry matters, such as index builds).
#[derive(Debug, Clone)]
pub struct TargetDetail {
    pub target: TargetRecord,
    pub metadata: serde_json::Map<String, serde_json::Value>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = targets)]
struct TargetDetailRow {
    #[diesel(embed)]
    row: TargetRow,
    metadata: serde_json::Value,
}

impl TargetDetailRow {
    fn into_detail(self) -> Option<TargetDetail> {
        let metadata = match self.metadata {
            serde_json::Value::Object(m) => m,
            _ => serde_json::Map::new(),
        };
        Some(TargetDetail {
            target: self.row.into_record()?,
            metadata,
        })
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = targets)]
struct TargetRow {
    id: uuid::Uuid,
    geom: GeometryContainer<Point>,
    radius_m: Option<f64>,
    name: String,
    points: i32,
    prerequisites: Vec<uuid::Uuid>,
}

impl TargetRow {
    fn into_record(self) -> Option<TargetRecord> {
        Some(TargetRecord {
            id: TargetId(self.id),
            shape: geo::shape_spec(&self.geom, self.radius_m)?,
            name: self.name,
            points: self.points,
            prerequisites: self.prerequisites.into_iter().map(TargetId).collect(),
        })
    }
}

fn kind(spec: &ShapeSpec) -> &'static str {
    match spec {
        ShapeSpec::Circle { .. } => "circle",
        ShapeSpec::Polygons(_) => "polygon",
    }
}

fn radius(spec: &ShapeSpec) -> Option<f64> {
    match spec {
        ShapeSpec::Circle { radius_m, .. } => Some(*radius_m),
        ShapeSpec::Polygons(_) => None,
    }
}

/// The columns a target spec sets, shared by insert and update.
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = targets)]
struct TargetColumns<'a> {
    kind: &'static str,
    geom: GeometryContainer<Point>,
    #[diesel(treat_none_as_null = true)]
    radius_m: Option<f64>,
    name: &'a str,
    points: i32,
    prerequisites: Vec<uuid::Uuid>,
    metadata: serde_json::Value,
}

impl<'a> From<&'a TargetSpec> for TargetColumns<'a> {
    fn from(t: &'a TargetSpec) -> Self {
        Self {
            kind: kind(&t.shape),
            geom: geo::target_geometry(&t.shape),
            radius_m: radius(&t.shape),
            name: &t.name,
            points: t.points,
            prerequisites: t.prerequisites.clone(),
            metadata: serde_json::Value::Object(t.metadata.clone()),
        }
    }
}

/// Inserts targets in batches (one statement per 1,000 rows keeps bind parameters in range).
pub async fn insert_many(
    conn: &mut AsyncPgConnection,
    hunt: HuntId,
    items: &[(TargetId, TargetSpec)],
) -> QueryResult<()> {
    for chunk in items.chunks(1000) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|(id, t)| {
                (
                    targets::id.eq(id.0),
                    targets::hunt_id.eq(hunt.0),
                    TargetColumns::from(t),
                )
            })
            .collect();
        diesel::insert_into(targets::table)
            .values(rows)
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// Up to `limit` targets of a hunt with ids after `after`, in id order (keyset pagination), with
/// their metadata.
pub async fn list(
    conn: &mut AsyncPgConnection,
    hunt: HuntId,
    after: Option<TargetId>,
    limit: i64,
) -> QueryResult<Vec<TargetDetail>> {
    let mut query = targets::table
        .filter(targets::hunt_id.eq(hunt.0))
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(targets::id.gt(after.0));
    }
    let rows: Vec<TargetDetailRow> = query
        .order(targets::id)
        .limit(limit)
        .select(TargetDetailRow::as_select())
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(TargetDetailRow::into_detail)
        .collect())
}

/// One target of a hunt with its metadata.
pub async fn get_detail(
    conn: &mut AsyncPgConnection,
    hunt: HuntId,
    id: TargetId,
) -> QueryResult<Option<TargetDetail>> {
    let row: Option<TargetDetailRow> = targets::table
        .filter(targets::hunt_id.eq(hunt.0))
        .filter(targets::id.eq(id.0))
        .select(TargetDetailRow::as_select())
        .first(conn)
        .await
        .optional()?;
    Ok(row.and_then(TargetDetailRow::into_detail))
}

/// Every target of a hunt, for building its index.
pub async fn load_all(
    conn: &mut AsyncPgConnection,
    hunt: HuntId,
) -> QueryResult<Vec<TargetRecord>> {
    let rows: Vec<TargetRow> = targets::table
        .filter(targets::hunt_id.eq(hunt.0))
        .select(TargetRow::as_select())
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(TargetRow::into_record)
        .collect())
}

/// One target of a hunt.
pub async fn get(
    conn: &mut AsyncPgConnection,
    hunt: HuntId,
    id: TargetId,
) -> QueryResult<Option<TargetRecord>> {
    let row: Option<TargetRow> = targets::table
        .filter(targets::hunt_id.eq(hunt.0))
        .filter(targets::id.eq(id.0))
        .select(TargetRow::as_select())
        .first(conn)
        .await
        .optional()?;
    Ok(row.and_then(TargetRow::into_record))
}

/// Rewrites a target's fields; false when it does not exist in this hunt.
pub async fn update(
    conn: &mut AsyncPgConnection,
    hunt: HuntId,
    id: TargetId,
    t: &TargetSpec,
) -> QueryResult<bool> {
    let n = diesel::update(
        targets::table
            .filter(targets::hunt_id.eq(hunt.0))
            .filter(targets::id.eq(id.0)),
    )
    .set(TargetColumns::from(t))
    .execute(conn)
    .await?;
    Ok(n == 1)
}

/// Deletes a target; false when it does not exist in this hunt.
pub async fn delete(conn: &mut AsyncPgConnection, hunt: HuntId, id: TargetId) -> QueryResult<bool> {
    let n = diesel::delete(
        targets::table
            .filter(targets::hunt_id.eq(hunt.0))
            .filter(targets::id.eq(id.0)),
    )
    .execute(conn)
    .await?;
    Ok(n == 1)
}

/// How many targets a hunt has.
pub async fn count(conn: &mut AsyncPgConnection, hunt: HuntId) -> QueryResult<i64> {
    targets::table
        .filter(targets::hunt_id.eq(hunt.0))
        .count()
        .get_result(conn)
        .await
}

/// Which of `ids` are targets of this hunt.
pub async fn existing_ids(
    conn: &mut AsyncPgConnection,
    hunt: HuntId,
    ids: &[uuid::Uuid],
) -> QueryResult<Vec<uuid::Uuid>> {
    targets::table
        .filter(targets::hunt_id.eq(hunt.0))
        .filter(targets::id.eq_any(ids))
        .select(targets::id)
        .load(conn)
        .await
}
