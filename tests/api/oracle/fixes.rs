//! Fix placement: seeded accuracies and positions concentrated near the three thresholds of a target.

use geographiclib_rs::{DirectGeodesic, Geodesic};
use rand::Rng;
use rand::rngs::StdRng;

use nenufar::domain::position::LatLon;
use nenufar::spatial::shape::Shape;

use super::families::{Family, Fix, Target};
use super::sphere::{combine, cross, lon_wrapped, moved, norm, p};

/// Accuracy, metres: log-uniform in [1, 200].
pub(super) fn accuracy_m(rng: &mut StdRng) -> f64 {
    rng.random_range(0.0..200f64.ln()).exp().clamp(1.0, 200.0)
}

/// Signed distance from the boundary to place a fix at, metres (positive towards the inside):
/// mostly within a few accuracies, often within 50 cm of one of the three thresholds.
fn offset_m(rng: &mut StdRng, a: f64, broad_m: f64) -> f64 {
    match rng.random_range(0..100) {
        0..40 => a * rng.random_range(-3.0..3.0),
        40..55 => a + rng.random_range(-0.5..0.5),
        55..70 => -a + rng.random_range(-0.5..0.5),
        70..80 => rng.random_range(-0.5..0.5),
        _ => rng.random_range(-broad_m..broad_m),
    }
}

fn fixes_per_target(t: &Target) -> usize {
    match t.family {
        Family::Circles if t.radius_m >= 10_000.0 => 40,
        Family::Circles => 25,
        Family::Paris => 150,
        Family::LongEdges => 120,
        Family::Antimeridian | Family::Poles | Family::HolesAndMulti => 300,
        Family::ShortEdges => 0,
    }
}

fn near_circle(rng: &mut StdRng, centre: LatLon, radius_m: f64, a: f64) -> LatLon {
    let wgs84 = Geodesic::wgs84();
    let distance_m = (radius_m - offset_m(rng, a, radius_m.max(a))).abs();
    let azimuth = rng.random_range(-180.0..180.0);
    let (lat, lon): (f64, f64) = wgs84.direct(centre.lat(), centre.lon(), azimuth, distance_m);
    p(lat, lon_wrapped(lon))
}

fn near_polygon(rng: &mut StdRng, t: &Target, a: f64) -> LatLon {
    if rng.random_range(0..10) == 0 {
        // Around a vertex, in any direction.
        let (v, _) = t.edges[rng.random_range(0..t.edges.len())];
        let e1 = norm(cross([0.0, 0.0, 1.0], v));
        let e2 = cross(v, e1);
        let phi = rng.random_range(0.0..std::f64::consts::TAU);
        return moved(
            v,
            combine(e1, phi.cos(), e2, phi.sin()),
            offset_m(rng, a, 2_000.0).abs(),
        );
    }
    let favoured = !t.favoured.is_empty() && rng.random_bool(0.7);
    let edge = if favoured {
        t.favoured[rng.random_range(0..t.favoured.len())]
    } else {
        rng.random_range(0..t.edges.len())
    };
    let (v1, v2) = t.edges[edge];
    let along = if favoured {
        rng.random_range(0.3..0.7)
    } else {
        rng.random_range(0.0..1.0)
    };
    let k = norm(combine(v1, 1.0 - along, v2, along));
    let n = norm(cross(v1, v2));
    // Either side of the edge: the oracle says which is inside.
    let side = if rng.random_bool(0.5) { 1.0 } else { -1.0 };
    moved(k, n, side * offset_m(rng, a, 2_000.0))
}

pub(super) fn make_fixes(targets: &[Target], rng: &mut StdRng) -> Vec<Fix> {
    let mut fixes = Vec::new();
    for (i, t) in targets.iter().enumerate() {
        for _ in 0..fixes_per_target(t) {
            let a = accuracy_m(rng);
            let at = match &t.shape {
                Shape::Circle(c) => near_circle(rng, c.centre(), c.radius_m(), a),
                Shape::Polygon(_) => near_polygon(rng, t, a),
            };
            fixes.push(Fix {
                target: i,
                at,
                accuracy_m: a,
            });
        }
    }
    fixes
}
