//! Karney's geodesic test set (GeodTest-100): our distances are WGS84 ellipsoidal, within a millimetre.
//! Needs no database.

use nenufar::domain::position::LatLon;
use nenufar::spatial::geodesic::distance_m;

use crate::support::testdata;

/// One line of GeodTest: `lat1 lon1 azi1 lat2 lon2 azi2 s12 a12 m12 S12` (degrees, metres).
struct Geodesic {
    line: usize,
    from: LatLon,
    to: LatLon,
    s12_m: f64,
}

fn geodesics() -> Vec<Geodesic> {
    let text = std::fs::read_to_string(testdata("geodesic/GeodTest-100.dat")).unwrap();
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            let f: Vec<f64> = l.split_whitespace().map(|x| x.parse().unwrap()).collect();
            assert_eq!(f.len(), 10, "line {}: {l}", i + 1);
            Geodesic {
                line: i + 1,
                from: LatLon::new(f[0], f[1]).unwrap(),
                to: LatLon::new(f[3], f[4]).unwrap(),
                s12_m: f[6],
            }
        })
        .collect()
}

#[test]
fn distances_match_karneys_test_set_within_a_millimetre() {
    let set = geodesics();
    assert_eq!(set.len(), 100);
    let mut worst_m: f64 = 0.0;
    for g in &set {
        let d = distance_m(g.from, g.to);
        let err = (d - g.s12_m).abs();
        assert!(
            err <= 1e-3,
            "line {}: {d} m, expected {} m",
            g.line,
            g.s12_m
        );
        worst_m = worst_m.max(err);
    }
    eprintln!(
        "GeodTest-100: {} geodesics, worst error {worst_m:.2e} m",
        set.len()
    );
}

#[test]
fn a_spherical_distance_would_fail_the_same_set() {
    // Haversine on the mean radius: what an engine ignoring the flattening would compute.
    let haversine = |a: LatLon, b: LatLon| {
        let (p1, p2) = (a.lat().to_radians(), b.lat().to_radians());
        let (dp, dl) = (p2 - p1, (b.lon() - a.lon()).to_radians());
        let h = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
        2.0 * 6_371_008.8 * h.sqrt().min(1.0).asin()
    };
    let off = geodesics()
        .iter()
        .filter(|g| (haversine(g.from, g.to) - g.s12_m).abs() > 1.0)
        .count();
    assert!(
        off >= 90,
        "only {off} of 100 geodesics are more than 1 m off on a sphere"
    );
}
