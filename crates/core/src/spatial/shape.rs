//! Target shapes (circle, polygon) and the exact accuracy-aware test of a fix against one.

use super::geodesic::{MIN_RADIUS_M, distance_m, flat_distance_m};
use super::polygon::{Cap, SphericalPolygon};
use super::sphere::UnitVec;
use crate::domain::geofence::AccuracyPolicy;
use crate::domain::position::LatLon;

/// Largest circle radius a target may have, metres.
pub const MAX_RADIUS_M: f64 = 50_000.0;

/// Points within `radius_m` of `centre`, measured on WGS84.
#[derive(Debug, Clone)]
pub struct Circle {
    centre: LatLon,
    radius_m: f64,
}

impl Circle {
    /// `radius_m` must be in (0, 50 000]; the caller validated it.
    pub fn new(centre: LatLon, radius_m: f64) -> Self {
        Self { centre, radius_m }
    }

    pub fn centre(&self) -> LatLon {
        self.centre
    }

    pub fn radius_m(&self) -> f64 {
        self.radius_m
    }

    /// Whether the geodesic distance from `fix` to the centre is at most `limit_m`, calling Karney
    /// only when the bounded flat-earth estimate cannot decide.
    fn within(&self, fix: LatLon, limit_m: f64) -> bool {
        if limit_m < 0.0 {
            return false;
        }
        if let Some((estimate, bound)) = flat_distance_m(self.centre, fix) {
            if estimate + bound <= limit_m {
                return true;
            }
            if estimate - bound > limit_m {
                return false;
            }
        }
        distance_m(self.centre, fix) <= limit_m
    }
}

/// A target's geofence.
#[derive(Debug, Clone)]
pub enum Shape {
    Circle(Circle),
    Polygon(SphericalPolygon),
}

impl Shape {
    /// Signed margin of `fix`, metres: distance to the boundary, positive inside, 0 on it.
    pub fn signed_margin_m(&self, fix: LatLon) -> f64 {
        match self {
            Self::Circle(c) => c.radius_m - distance_m(c.centre, fix),
            Self::Polygon(p) => p.signed_margin_m(fix),
        }
    }

    /// Whether `policy` admits a fix at `fix` with uncertainty `accuracy_m`; same answer as
    /// `policy.admits(self.signed_margin_m(fix), accuracy_m)`, computed with less work.
    pub fn admits(&self, fix: LatLon, accuracy_m: f64, policy: AccuracyPolicy) -> bool {
        let threshold_m = policy.threshold_m(accuracy_m);
        match self {
            Self::Circle(c) => c.within(fix, c.radius_m - threshold_m),
            Self::Polygon(poly) => {
                let p = UnitVec::from_latlon(fix);
                let covered = poly.covers(p);
                match policy {
                    AccuracyPolicy::Centre => covered,
                    AccuracyPolicy::Strict => {
                        covered && poly.boundary_distance_m(fix, p) >= threshold_m
                    }
                    AccuracyPolicy::Lenient => {
                        covered || poly.boundary_distance_m(fix, p) <= -threshold_m
                    }
                }
            }
        }
    }

    /// A cap holding the shape, for the index.
    pub fn cap(&self) -> Cap {
        match self {
            Self::Circle(c) => Cap {
                centre: UnitVec::from_latlon(c.centre),
                radius_rad: c.radius_m / MIN_RADIUS_M * (1.0 + 1e-9) + 1e-12,
            },
            Self::Polygon(p) => p.cap(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spatial::polygon::Rings;

    fn p(lat: f64, lon: f64) -> LatLon {
        LatLon::new(lat, lon).unwrap()
    }

    #[test]
    fn a_fix_outside_the_radius_finds_nothing_unless_lenient() {
        let eiffel = Shape::Circle(Circle::new(p(48.858_37, 2.294_48), 40.0));
        // 50 m north of the centre (1 degree of latitude is about 111.2 km here).
        let fix = p(48.858_37 + 50.0 / 111_200.0, 2.294_48);
        assert!(!eiffel.admits(fix, 5.0, AccuracyPolicy::Centre));
        assert!(!eiffel.admits(fix, 5.0, AccuracyPolicy::Lenient));
        assert!(eiffel.admits(fix, 15.0, AccuracyPolicy::Lenient));
        let margin = eiffel.signed_margin_m(fix);
        assert!((margin + 10.0).abs() < 0.1, "{margin}");
    }

    #[test]
    fn strict_refuses_a_centre_inside_with_a_disc_poking_out() {
        let c = Shape::Circle(Circle::new(p(0.0, 0.0), 100.0));
        let fix = p(0.0, 80.0 / 111_320.0);
        assert!(c.admits(fix, 15.0, AccuracyPolicy::Centre));
        assert!(!c.admits(fix, 25.0, AccuracyPolicy::Strict));
        assert!(c.admits(fix, 15.0, AccuracyPolicy::Strict));
    }

    #[test]
    fn admits_agrees_with_the_signed_margin() {
        let square: Rings = vec![
            [
                (2.0, 48.0),
                (2.002, 48.0),
                (2.002, 48.002),
                (2.0, 48.002),
                (2.0, 48.0),
            ]
            .iter()
            .map(|&(lon, lat)| p(lat, lon))
            .collect(),
        ];
        let shapes = [
            Shape::Circle(Circle::new(p(48.001, 2.001), 60.0)),
            Shape::Polygon(SphericalPolygon::new(&[square]).unwrap()),
        ];
        for shape in &shapes {
            for i in 0..40 {
                for j in 0..40 {
                    let fix = p(47.9995 + i as f64 * 0.0001, 1.9995 + j as f64 * 0.0001);
                    let m = shape.signed_margin_m(fix);
                    for policy in [
                        AccuracyPolicy::Strict,
                        AccuracyPolicy::Centre,
                        AccuracyPolicy::Lenient,
                    ] {
                        let t = policy.threshold_m(20.0);
                        if (m - t).abs() > 0.01 {
                            assert_eq!(shape.admits(fix, 20.0, policy), policy.admits(m, 20.0));
                        }
                    }
                }
            }
        }
    }
}
