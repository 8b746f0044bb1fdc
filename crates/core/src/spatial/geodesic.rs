//! Ellipsoidal distances on WGS84 (Karney's geodesic) and a bounded-error flat-earth estimate that avoids it.

use std::sync::LazyLock;

use geographiclib_rs::{Geodesic, InverseGeodesic};

use crate::domain::position::LatLon;

/// WGS84 semi-major axis, metres.
pub const WGS84_A_M: f64 = 6_378_137.0;
/// WGS84 flattening.
pub const WGS84_F: f64 = 1.0 / 298.257_223_563;
/// The smallest radius of curvature of WGS84 (meridional, at the equator), metres: an ellipsoidal
/// distance `d` spans at most `d / MIN_RADIUS_M` radians on the unit sphere of geodetic coordinates.
pub const MIN_RADIUS_M: f64 = 6_335_439.327;

static WGS84: LazyLock<Geodesic> = LazyLock::new(Geodesic::wgs84);

/// The geodesic distance between two positions on WGS84, metres (Karney; errors in nanometres).
pub fn distance_m(a: LatLon, b: LatLon) -> f64 {
    InverseGeodesic::<f64>::inverse(&*WGS84, a.lat(), a.lon(), b.lat(), b.lon())
}

/// Flat-earth estimates are trusted only below this distance (metres) and latitude (degrees).
const FLAT_MAX_M: f64 = 100_000.0;
const FLAT_MAX_LAT: f64 = 80.0;

/// A cheap estimate of [`distance_m`] with a guaranteed error bound: `Some((estimate_m, bound_m))`
/// with `|estimate - distance_m| <= bound`, or `None` where the bound does not hold (long distances,
/// high latitudes), and the caller must use [`distance_m`].
///
/// Equirectangular on the ellipsoid's radii of curvature at the mean latitude. Its error is second
/// order in the distance; the bound (0.2 % + 1 mm) is far above what `tests` measure at the limits.
pub fn flat_distance_m(a: LatLon, b: LatLon) -> Option<(f64, f64)> {
    if a.lat().abs() > FLAT_MAX_LAT || b.lat().abs() > FLAT_MAX_LAT {
        return None;
    }
    let mut dlon = b.lon() - a.lon();
    if dlon > 180.0 {
        dlon -= 360.0;
    } else if dlon < -180.0 {
        dlon += 360.0;
    }
    let phi = (0.5 * (a.lat() + b.lat())).to_radians();
    let e2 = WGS84_F * (2.0 - WGS84_F);
    let w2 = 1.0 - e2 * phi.sin() * phi.sin();
    let n = WGS84_A_M / w2.sqrt();
    let m = WGS84_A_M * (1.0 - e2) / (w2 * w2.sqrt());
    let dy = m * (b.lat() - a.lat()).to_radians();
    let dx = n * phi.cos() * dlon.to_radians();
    let d = dx.hypot(dy);
    (d <= FLAT_MAX_M).then_some((d, 2e-3 * d + 1e-3))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(lat: f64, lon: f64) -> LatLon {
        LatLon::new(lat, lon).unwrap()
    }

    #[test]
    fn paris_to_london_is_ellipsoidal_not_spherical() {
        // Karney's GeodSolve gives 343 923.2 m; a sphere of radius 6371 km gives about 343.5 km.
        let d = distance_m(p(48.8566, 2.3522), p(51.5074, -0.1278));
        assert!((d - 343_923.2).abs() < 1.0, "{d}");
    }

    #[test]
    fn the_flat_estimate_stays_within_its_bound() {
        let mut worst: f64 = 0.0;
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        for _ in 0..20_000 {
            let a = p(-80.0 + 160.0 * next(), -180.0 + 360.0 * next());
            let scale = [0.001, 0.01, 0.1, 1.0][(next() * 4.0) as usize % 4];
            let lat = (a.lat() + scale * (next() - 0.5)).clamp(-80.0, 80.0);
            let mut lon = a.lon() + scale * (next() - 0.5) * 4.0;
            if lon > 180.0 {
                lon -= 360.0;
            } else if lon < -180.0 {
                lon += 360.0;
            }
            let b = p(lat, lon);
            if let Some((est, bound)) = flat_distance_m(a, b) {
                let exact = distance_m(a, b);
                assert!(
                    (est - exact).abs() <= bound,
                    "{a:?} {b:?} est {est} exact {exact}"
                );
                worst = worst.max((est - exact).abs() / bound);
            }
        }
        assert!(worst < 0.5, "the bound is too tight to be safe: {worst}");
    }
}
