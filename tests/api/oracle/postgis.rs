//! The PostGIS side: targets loaded as `geography`, fixes judged in batched SQL statements.

use diesel::QueryableByName;
use diesel::sql_types::{Array, Bool, Double, Integer, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::families::{Fix, Target};

/// Rows per SQL statement.
const BATCH: usize = 4_000;

/// PostGIS's answer for one fix against its target.
#[derive(Debug, Clone, Copy)]
pub(super) struct Oracle {
    pub(super) margin_m: f64,
    pub(super) admits: [bool; 3],
}

#[derive(QueryableByName)]
struct OracleRow {
    #[diesel(sql_type = Integer)]
    i: i32,
    #[diesel(sql_type = Double)]
    margin_m: f64,
    #[diesel(sql_type = Bool)]
    v_strict: bool,
    #[diesel(sql_type = Bool)]
    v_centre: bool,
    #[diesel(sql_type = Bool)]
    v_lenient: bool,
}

const CREATE_TARGETS: &str = "create table oracle_targets (
    id int primary key, g geography not null, b geography, radius_m float8 not null)";

const INSERT_TARGETS: &str = "insert into oracle_targets (id, g, b, radius_m)
select id, g, case when radius_m < 0 then ST_Boundary(g::geometry)::geography end, radius_m
from (select id, ST_SetSRID(ST_GeomFromGeoJSON(j), 4326)::geography as g, radius_m
      from unnest($1::int[], $2::text[], $3::float8[]) as u(id, j, radius_m)) s";

/// The fixes of one batch, each with its target, accuracy and geography point.
const FIXES: &str = "(select i, tid, acc, ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geography as p
      from unnest($1::int[], $2::int[], $3::float8[], $4::float8[], $5::float8[]) as x(i, tid, lat, lon, acc)) u
join oracle_targets t on t.id = u.tid";

/// Circles: spheroid distance to the centre; the policies as ST_DWithin of radius - a, radius, radius + a.
fn circle_sql() -> String {
    format!(
        "select u.i, t.radius_m - ST_Distance(u.p, t.g) as margin_m,
           case when t.radius_m >= u.acc then ST_DWithin(u.p, t.g, t.radius_m - u.acc) else false end as v_strict,
           ST_DWithin(u.p, t.g, t.radius_m) as v_centre,
           ST_DWithin(u.p, t.g, t.radius_m + u.acc) as v_lenient
         from {FIXES} where t.radius_m >= 0"
    )
}

/// Polygons: ST_Covers, and the distance to the boundary (ST_Distance to ST_Boundary).
fn polygon_sql() -> String {
    format!(
        "select u.i, case when m.covers then m.d else -m.d end as margin_m,
           m.covers and m.d >= u.acc as v_strict,
           m.covers as v_centre,
           m.covers or ST_DWithin(t.g, u.p, u.acc) as v_lenient
         from {FIXES}
         cross join lateral (select ST_Covers(t.g, u.p) as covers, ST_Distance(u.p, t.b) as d) m
         where t.radius_m < 0"
    )
}

pub(super) async fn load_targets(conn: &mut AsyncPgConnection, targets: &[Target]) {
    diesel::sql_query(CREATE_TARGETS)
        .execute(conn)
        .await
        .unwrap();
    let ids: Vec<i32> = (0..targets.len() as i32).collect();
    let geojson: Vec<String> = targets.iter().map(|t| t.geometry.to_string()).collect();
    let radii: Vec<f64> = targets.iter().map(|t| t.radius_m).collect();
    diesel::sql_query(INSERT_TARGETS)
        .bind::<Array<Integer>, _>(ids)
        .bind::<Array<Text>, _>(geojson)
        .bind::<Array<Double>, _>(radii)
        .execute(conn)
        .await
        .unwrap();
}

pub(super) async fn oracle(conn: &mut AsyncPgConnection, fixes: &[Fix]) -> Vec<Option<Oracle>> {
    let mut out = vec![None; fixes.len()];
    let indices: Vec<usize> = (0..fixes.len()).collect();
    for sql in [circle_sql(), polygon_sql()] {
        for chunk in indices.chunks(BATCH) {
            let rows: Vec<OracleRow> = diesel::sql_query(&sql)
                .bind::<Array<Integer>, _>(chunk.iter().map(|&i| i as i32).collect::<Vec<_>>())
                .bind::<Array<Integer>, _>(
                    chunk
                        .iter()
                        .map(|&i| fixes[i].target as i32)
                        .collect::<Vec<_>>(),
                )
                .bind::<Array<Double>, _>(
                    chunk.iter().map(|&i| fixes[i].at.lat()).collect::<Vec<_>>(),
                )
                .bind::<Array<Double>, _>(
                    chunk.iter().map(|&i| fixes[i].at.lon()).collect::<Vec<_>>(),
                )
                .bind::<Array<Double>, _>(
                    chunk
                        .iter()
                        .map(|&i| fixes[i].accuracy_m)
                        .collect::<Vec<_>>(),
                )
                .load(conn)
                .await
                .unwrap();
            for r in rows {
                let admits = [r.v_strict, r.v_centre, r.v_lenient];
                out[r.i as usize] = Some(Oracle {
                    margin_m: r.margin_m,
                    admits,
                });
            }
        }
    }
    out
}
