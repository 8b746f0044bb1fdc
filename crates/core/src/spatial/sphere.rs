//! Unit-sphere vectors: conversions from geodetic positions, great-circle arcs and their nearest points.

use crate::domain::position::LatLon;

/// A point of the unit sphere, `x` towards (0 N, 0 E), `z` towards the north pole.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UnitVec(pub [f64; 3]);

impl UnitVec {
    /// The geodetic latitude is used as a spherical latitude, as PostGIS `geography` does.
    pub fn from_latlon(p: LatLon) -> Self {
        let (lat, lon) = (p.lat().to_radians(), p.lon().to_radians());
        Self([lat.cos() * lon.cos(), lat.cos() * lon.sin(), lat.sin()])
    }

    /// Back to degrees; longitude in [-180, 180].
    pub fn to_latlon(self) -> LatLon {
        let [x, y, z] = self.0;
        let lat = z.atan2(x.hypot(y)).to_degrees();
        let lon = if x == 0.0 && y == 0.0 {
            0.0
        } else {
            y.atan2(x).to_degrees()
        };
        LatLon::clamped(lat, lon)
    }

    pub fn dot(self, o: Self) -> f64 {
        self.0[0] * o.0[0] + self.0[1] * o.0[1] + self.0[2] * o.0[2]
    }

    pub fn cross(self, o: Self) -> [f64; 3] {
        let (a, b) = (self.0, o.0);
        [
            a[1] * b[2] - a[2] * b[1],
            a[2] * b[0] - a[0] * b[2],
            a[0] * b[1] - a[1] * b[0],
        ]
    }

    /// Normalises `v`; `None` for a (near) zero vector.
    pub fn normalize(v: [f64; 3]) -> Option<Self> {
        let n = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
        (n > 1e-300 && n.is_finite()).then(|| Self([v[0] / n, v[1] / n, v[2] / n]))
    }

    /// The angle between two unit vectors, radians, accurate for tiny angles too.
    pub fn angle(self, o: Self) -> f64 {
        let c = self.cross(o);
        (c[0] * c[0] + c[1] * c[1] + c[2] * c[2])
            .sqrt()
            .atan2(self.dot(o))
    }
}

/// A great-circle arc (the shorter one) between two vertices, with its pole precomputed.
#[derive(Debug, Clone, Copy)]
pub struct Arc {
    pub start: UnitVec,
    pub end: UnitVec,
    /// Unit normal of the arc's plane; `None` for a zero-length edge.
    normal: Option<UnitVec>,
}

impl Arc {
    pub fn new(start: UnitVec, end: UnitVec) -> Self {
        // (s + e) x (e - s) = 2 (s x e), without the cancellation that ruins s x e for vertices
        // centimetres apart (the great circle would then miss its own vertices by centimetres).
        let (s, e) = (start.0, end.0);
        let sum = UnitVec([s[0] + e[0], s[1] + e[1], s[2] + e[2]]);
        let diff = UnitVec([e[0] - s[0], e[1] - s[1], e[2] - s[2]]);
        Self {
            start,
            end,
            normal: UnitVec::normalize(sum.cross(diff)),
        }
    }

    /// The arc's length, radians.
    pub fn length(&self) -> f64 {
        self.start.angle(self.end)
    }

    /// The point of the arc nearest to `p` on the sphere, and its angular distance (radians).
    /// Same construction as PostGIS `edge_distance_to_point`: project on the arc's great circle,
    /// keep the projection if it lies on the arc, else the nearer endpoint.
    pub fn nearest(&self, p: UnitVec) -> (UnitVec, f64) {
        let d_start = p.angle(self.start);
        let d_end = p.angle(self.end);
        let mut best = if d_start <= d_end {
            (self.start, d_start)
        } else {
            (self.end, d_end)
        };
        if let Some(n) = self.normal {
            let s = p.dot(n);
            let k = [
                p.0[0] - s * n.0[0],
                p.0[1] - s * n.0[1],
                p.0[2] - s * n.0[2],
            ];
            if let Some(k) = UnitVec::normalize(k) {
                if self.contains_on_circle(k, n) {
                    let d = p.angle(k);
                    if d < best.1 {
                        best = (k, d);
                    }
                }
            }
        }
        best
    }

    /// Whether `k`, a point of this arc's great circle, lies between its endpoints.
    fn contains_on_circle(&self, k: UnitVec, n: UnitVec) -> bool {
        let a = UnitVec(self.start.cross(k));
        let b = UnitVec(k.cross(self.end));
        a.dot(n) >= 0.0 && b.dot(n) >= 0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(lat: f64, lon: f64) -> UnitVec {
        UnitVec::from_latlon(LatLon::new(lat, lon).unwrap())
    }

    #[test]
    fn a_round_trip_through_the_sphere_keeps_the_position() {
        for (lat, lon) in [
            (48.85, 2.35),
            (-33.9, 151.2),
            (89.999, -179.5),
            (0.0, 180.0),
        ] {
            let p = v(lat, lon).to_latlon();
            assert!((p.lat() - lat).abs() < 1e-9);
            assert!((p.lon() - lon).abs() < 1e-9 || (p.lon().abs() - 180.0).abs() < 1e-9);
        }
    }

    #[test]
    fn the_nearest_point_of_an_equatorial_arc_is_straight_below() {
        let arc = Arc::new(v(0.0, 0.0), v(0.0, 10.0));
        let (k, d) = arc.nearest(v(1.0, 5.0));
        let k = k.to_latlon();
        assert!(k.lat().abs() < 1e-12 && (k.lon() - 5.0).abs() < 1e-9);
        assert!((d - 1f64.to_radians()).abs() < 1e-12);
    }

    #[test]
    fn beyond_an_arc_the_nearest_point_is_an_endpoint() {
        let arc = Arc::new(v(0.0, 0.0), v(0.0, 10.0));
        let (k, _) = arc.nearest(v(0.0, 20.0));
        assert!((k.to_latlon().lon() - 10.0).abs() < 1e-9);
    }

    #[test]
    fn arcs_crossing_the_antimeridian_take_the_short_way() {
        let arc = Arc::new(v(0.0, 179.0), v(0.0, -179.0));
        assert!((arc.length() - 2f64.to_radians()).abs() < 1e-12);
        let (_, d) = arc.nearest(v(0.5, 180.0));
        assert!((d - 0.5f64.to_radians()).abs() < 1e-12);
    }
}
