//! Spherical polygons with great-circle edges, as PostGIS `geography` reads them: coverage through a
//! gnomonic projection per part (great circles become straight lines), boundary distances on WGS84.

use thiserror::Error;

use super::frame::{Frame, centre_for};
use super::geodesic::distance_m;
use super::sphere::{Arc, UnitVec};
use crate::domain::position::LatLon;

/// One polygon as GeoJSON nests it: rings of positions, the first ring exterior, closed.
pub type Rings = Vec<Vec<LatLon>>;

/// Why a polygon cannot be used as a target or an area.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PolygonError {
    #[error(
        "a polygon must lie inside a hemisphere: all its positions within 89.4 degrees of one point"
    )]
    TooLarge,
    #[error("a polygon needs at least one ring")]
    NoRings,
}

/// A spherical cap: every point within `radius_rad` of `centre`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cap {
    pub centre: UnitVec,
    pub radius_rad: f64,
}

impl Cap {
    /// The tightest axis-aligned box (unit-sphere coordinates) holding the cap.
    pub fn aabb(&self) -> ([f64; 3], [f64; 3]) {
        let mut lo = [0.0; 3];
        let mut hi = [0.0; 3];
        let r = self.radius_rad.clamp(0.0, std::f64::consts::PI);
        for axis in 0..3 {
            let alpha = self.centre.0[axis].clamp(-1.0, 1.0).acos();
            hi[axis] = (alpha - r).max(0.0).cos() + 1e-12;
            lo[axis] = (alpha + r).min(std::f64::consts::PI).cos() - 1e-12;
        }
        (lo, hi)
    }
}

#[derive(Debug, Clone)]
struct Part {
    frame: Frame,
    /// Every ring of the part, as arcs and as closed gnomonic-plane vertex lists.
    arcs: Vec<Arc>,
    plane_rings: Vec<Vec<(f64, f64)>>,
    cap: Cap,
}

impl Part {
    fn new(rings: &Rings) -> Result<Self, PolygonError> {
        let exterior = rings.first().ok_or(PolygonError::NoRings)?;
        let mean_of: Vec<UnitVec> = open_ring(exterior)
            .iter()
            .map(|p| UnitVec::from_latlon(*p))
            .collect();
        let all: Vec<UnitVec> = rings
            .iter()
            .flatten()
            .map(|p| UnitVec::from_latlon(*p))
            .collect();
        let frame = Frame::new(centre_for(&mean_of, &all).ok_or(PolygonError::TooLarge)?);
        let centre = frame.centre();
        let mut arcs = Vec::new();
        let mut plane_rings = Vec::with_capacity(rings.len());
        let mut radius: f64 = 0.0;
        for ring in rings {
            let vs: Vec<UnitVec> = ring.iter().map(|p| UnitVec::from_latlon(*p)).collect();
            let mut plane = Vec::with_capacity(vs.len());
            for v in &vs {
                plane.push(frame.project(*v).ok_or(PolygonError::TooLarge)?);
                radius = radius.max(centre.angle(*v));
            }
            for pair in vs.windows(2) {
                let arc = Arc::new(pair[0], pair[1]);
                // Any point of an arc is within half its length of an endpoint.
                radius = radius.max(centre.angle(pair[0]) + 0.5 * arc.length());
                arcs.push(arc);
            }
            plane_rings.push(plane);
        }
        let cap = Cap {
            centre,
            radius_rad: radius + 1e-9,
        };
        Ok(Self {
            frame,
            arcs,
            plane_rings,
            cap,
        })
    }

    /// Even-odd crossing test in the gnomonic plane: exterior minus holes.
    fn covers(&self, p: UnitVec) -> bool {
        let Some((x, y)) = self.frame.project_any(p) else {
            return false;
        };
        let mut inside = false;
        for ring in &self.plane_rings {
            for pair in ring.windows(2) {
                let ((x1, y1), (x2, y2)) = (pair[0], pair[1]);
                if (y1 > y) != (y2 > y) {
                    let x_cross = x1 + (y - y1) * (x2 - x1) / (y2 - y1);
                    if x < x_cross {
                        inside = !inside;
                    }
                }
            }
        }
        inside
    }
}

fn open_ring(ring: &[LatLon]) -> &[LatLon] {
    match ring.split_last() {
        Some((last, rest)) if ring.len() > 1 && ring.first() == Some(last) => rest,
        _ => ring,
    }
}

/// A Polygon or MultiPolygon on the sphere. Each part must lie within 89.4 degrees of one point
/// (`frame::MIN_CENTRE_COS`); validity (simple rings, holes inside) is `validity::problems`.
#[derive(Debug, Clone)]
pub struct SphericalPolygon {
    parts: Vec<Part>,
    cap: Cap,
}

impl SphericalPolygon {
    /// Builds from GeoJSON-nested polygons (either winding; the smaller side is the inside).
    pub fn new(polygons: &[Rings]) -> Result<Self, PolygonError> {
        let parts = polygons
            .iter()
            .map(Part::new)
            .collect::<Result<Vec<_>, _>>()?;
        let mut sum = [0.0; 3];
        for part in &parts {
            (0..3).for_each(|i| sum[i] += part.cap.centre.0[i]);
        }
        let first = parts.first().ok_or(PolygonError::NoRings)?;
        let centre = UnitVec::normalize(sum).unwrap_or(first.cap.centre);
        let radius = parts
            .iter()
            .map(|p| centre.angle(p.cap.centre) + p.cap.radius_rad)
            .fold(0.0, f64::max);
        Ok(Self {
            parts,
            cap: Cap {
                centre,
                radius_rad: radius,
            },
        })
    }

    /// A cap holding the whole polygon, for the index.
    pub fn cap(&self) -> Cap {
        self.cap
    }

    /// Whether the polygon covers `p` (boundary included up to rounding).
    pub fn covers(&self, p: UnitVec) -> bool {
        self.parts.iter().any(|part| part.covers(p))
    }

    /// Ellipsoidal distance (metres) from `fix` to the boundary point nearest on the sphere, which is
    /// how PostGIS measures `geography` distances to polygons.
    pub fn boundary_distance_m(&self, fix: LatLon, p: UnitVec) -> f64 {
        let mut best: Option<(UnitVec, f64)> = None;
        for arc in self.parts.iter().flat_map(|part| part.arcs.iter()) {
            let (k, d) = arc.nearest(p);
            if best.is_none_or(|(_, bd)| d < bd) {
                best = Some((k, d));
            }
        }
        best.map_or(f64::INFINITY, |(k, _)| distance_m(fix, k.to_latlon()))
    }

    /// Signed margin, metres: distance to the boundary, positive inside, negative outside.
    pub fn signed_margin_m(&self, fix: LatLon) -> f64 {
        let p = UnitVec::from_latlon(fix);
        let d = self.boundary_distance_m(fix, p);
        if self.covers(p) { d } else { -d }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(coords: &[(f64, f64)]) -> Vec<LatLon> {
        coords
            .iter()
            .map(|&(lon, lat)| LatLon::new(lat, lon).unwrap())
            .collect()
    }

    fn covers(poly: &SphericalPolygon, lat: f64, lon: f64) -> bool {
        poly.covers(UnitVec::from_latlon(LatLon::new(lat, lon).unwrap()))
    }

    #[test]
    fn a_square_with_a_hole_covers_its_ring_but_not_its_hole() {
        let outer = ring(&[
            (100.0, 0.0),
            (101.0, 0.0),
            (101.0, 1.0),
            (100.0, 1.0),
            (100.0, 0.0),
        ]);
        let hole = ring(&[
            (100.8, 0.8),
            (100.8, 0.2),
            (100.2, 0.2),
            (100.2, 0.8),
            (100.8, 0.8),
        ]);
        let poly = SphericalPolygon::new(&[vec![outer, hole]]).unwrap();
        assert!(covers(&poly, 0.1, 100.1));
        assert!(!covers(&poly, 0.5, 100.5));
        assert!(!covers(&poly, 1.5, 100.5));
    }

    #[test]
    fn either_winding_gives_the_same_inside() {
        let ccw = ring(&[
            (2.0, 48.0),
            (3.0, 48.0),
            (3.0, 49.0),
            (2.0, 49.0),
            (2.0, 48.0),
        ]);
        let cw: Vec<LatLon> = ccw.iter().rev().copied().collect();
        for r in [ccw, cw] {
            let poly = SphericalPolygon::new(&[vec![r]]).unwrap();
            assert!(covers(&poly, 48.5, 2.5));
            assert!(!covers(&poly, 47.5, 2.5));
        }
    }

    #[test]
    fn a_long_east_west_edge_bulges_poleward_like_a_great_circle() {
        // Edges along 50N and 60N from 0E to 20E: great circles reach 50.43N and 60.38N at 10E.
        let r = ring(&[
            (0.0, 50.0),
            (20.0, 50.0),
            (20.0, 60.0),
            (0.0, 60.0),
            (0.0, 50.0),
        ]);
        let poly = SphericalPolygon::new(&[vec![r]]).unwrap();
        assert!(
            covers(&poly, 60.3, 10.0),
            "inside the bulge of the great-circle edge"
        );
        assert!(
            !covers(&poly, 50.3, 10.0),
            "below the bulge of the southern edge"
        );
        assert!(!covers(&poly, 49.9, 0.5));
    }

    #[test]
    fn rings_across_the_antimeridian_and_around_a_pole_keep_their_small_side() {
        let am = ring(&[
            (179.0, -1.0),
            (-179.0, -1.0),
            (-179.0, 1.0),
            (179.0, 1.0),
            (179.0, -1.0),
        ]);
        let poly = SphericalPolygon::new(&[vec![am]]).unwrap();
        assert!(covers(&poly, 0.0, 180.0));
        assert!(covers(&poly, 0.0, -179.5));
        assert!(!covers(&poly, 0.0, 0.0));
        let polar = ring(&[
            (0.0, 80.0),
            (90.0, 80.0),
            (180.0, 80.0),
            (-90.0, 80.0),
            (0.0, 80.0),
        ]);
        let poly = SphericalPolygon::new(&[vec![polar]]).unwrap();
        assert!(covers(&poly, 90.0, 0.0));
        assert!(covers(&poly, 85.0, 45.0));
        assert!(!covers(&poly, 70.0, 45.0));
    }

    #[test]
    fn the_margin_is_positive_inside_and_negative_outside() {
        let r = ring(&[
            (2.0, 48.0),
            (2.01, 48.0),
            (2.01, 48.01),
            (2.0, 48.01),
            (2.0, 48.0),
        ]);
        let poly = SphericalPolygon::new(&[vec![r]]).unwrap();
        let inside = poly.signed_margin_m(LatLon::new(48.005, 2.005).unwrap());
        let outside = poly.signed_margin_m(LatLon::new(47.999, 2.005).unwrap());
        assert!((inside - 372.0).abs() < 5.0, "{inside}");
        assert!((outside + 111.2).abs() < 1.0, "{outside}");
    }

    #[test]
    fn a_polygon_of_a_hemisphere_or_more_is_refused() {
        let r = ring(&[(0.0, 0.0), (120.0, 0.0), (-120.0, 0.0), (0.0, 0.0)]);
        assert_eq!(
            SphericalPolygon::new(&[vec![r]]).unwrap_err(),
            PolygonError::TooLarge
        );
    }
}
