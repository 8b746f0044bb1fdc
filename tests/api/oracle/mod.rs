//! Oracle test: our geometry engine against PostGIS `geography` (ST_DWithin, ST_Covers, ST_Distance),
//! fix by fix, for every accuracy policy (DESIGN section 4). Uses only the engine and one database.
//!
//! Families of targets: random circles around Paris (metres to 50 km), the 20 Paris arrondissements,
//! quadrilaterals with 10-300 km east-west edges (great-circle bulge), rings across the antimeridian,
//! rings around both poles, a polygon with a hole and a MultiPolygon; and, in a second test, squares
//! with a corner cut by a millimetre-to-decimetre edge. Fixes are seeded and concentrated near the three
//! thresholds (margin = accuracy, 0, -accuracy), with some far inside and outside. Every fix and policy
//! is also asked of one `HuntIndex` holding every target, against a brute-force scan.

mod families;
mod fixes;
mod index;
mod judge;
mod postgis;
mod sphere;

use rand::SeedableRng;
use rand::rngs::StdRng;

use nenufar::spatial::geodesic::distance_m;

use families::{
    Family, antimeridian, circles, holes_and_multi, long_edges, paris, poles,
    short_edge_targets_and_fixes,
};
use fixes::make_fixes;
use judge::{assert_no_failures, planar_errors, run};
use sphere::{combine, norm, to_latlon};

#[tokio::test]
async fn the_engine_agrees_with_postgis_geography_on_every_fix_away_from_a_boundary() {
    let mut rng = StdRng::seed_from_u64(0x6e65_6e75_6661_7201);
    let mut targets = circles(&mut rng);
    targets.extend(paris());
    targets.extend(long_edges(&mut rng));
    targets.extend(antimeridian());
    targets.extend(poles());
    targets.extend(holes_and_multi());
    let fixes = make_fixes(&targets, &mut rng);
    assert!(fixes.len() >= 10_000, "{} fixes", fixes.len());

    let outcome = run("oracle", &targets, &fixes).await;
    let (planar_judged, planar_wrong) =
        planar_errors(&targets, &fixes, &outcome.oracle, Family::LongEdges);
    let (am_judged, am_wrong) =
        planar_errors(&targets, &fixes, &outcome.oracle, Family::Antimeridian);
    eprintln!(
        "  a planar lon/lat test (geo Contains) is wrong on {planar_wrong} of {planar_judged} long-edge fixes and {am_wrong} of {am_judged} antimeridian fixes"
    );
    assert_no_failures(&outcome.failures);
    assert!(
        planar_wrong * 50 >= planar_judged,
        "the long-edge family no longer tells a planar engine apart"
    );
    assert!(
        am_wrong * 10 >= am_judged,
        "the antimeridian family no longer tells a planar engine apart"
    );
}

#[tokio::test]
async fn millimetre_edges_keep_their_great_circle() {
    let mut rng = StdRng::seed_from_u64(0x6e65_6e75_6661_7202);
    let (targets, fixes) = short_edge_targets_and_fixes(&mut rng);
    let outcome = run("short edges", &targets, &fixes).await;
    // The setup is sound: PostGIS measures what a fix straight out from the edge's midpoint must get.
    for (f, pg) in fixes.iter().zip(&outcome.oracle) {
        let (s, e) = targets[f.target].edges[2];
        let expected_m = -distance_m(f.at, to_latlon(norm(combine(s, 1.0, e, 1.0))));
        let pg_m = pg.unwrap().margin_m;
        assert!(
            (pg_m - expected_m).abs() < 1e-3,
            "{}: PostGIS {pg_m} m, expected {expected_m} m",
            targets[f.target].name
        );
    }
    assert_no_failures(&outcome.failures);
}
