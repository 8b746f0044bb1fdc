//! Gnomonic frames (the plane tangent at a centre, where great circles are straight lines) and how a
//! polygon's centre is found: the mean of its vertices when that works, else its smallest enclosing cap.
//!
//! The rule this implements: a polygon part is usable when all its vertices lie within
//! `acos(MIN_CENTRE_COS)` (about 89.43 degrees) of one point of the sphere, that is inside a cap a
//! little smaller than a hemisphere. The margin keeps the projection finite and well conditioned:
//! at the margin a plane unit is about 10^4 times longer than a radian near the centre.

use super::sphere::UnitVec;

/// Smallest allowed cosine between a frame's centre and any vertex it projects (about 89.43 degrees).
pub const MIN_CENTRE_COS: f64 = 0.01;

/// The gnomonic projection from a centre: `p` goes to `(p.e1 / p.c, p.e2 / p.c)`. Exact for great
/// circles (they become straight lines) on the open hemisphere around the centre.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Frame {
    centre: UnitVec,
    e1: UnitVec,
    e2: UnitVec,
}

impl Frame {
    /// The frame tangent at `centre` (any unit vector).
    pub fn new(centre: UnitVec) -> Self {
        let helper = if centre.0[2].abs() < 0.9 {
            UnitVec([0.0, 0.0, 1.0])
        } else {
            UnitVec([1.0, 0.0, 0.0])
        };
        // Never zero: `helper` is at least 25 degrees away from `centre`.
        let e1 = UnitVec::normalize(helper.cross(centre)).unwrap_or(UnitVec([0.0, 1.0, 0.0]));
        let e2 = UnitVec(centre.cross(e1));
        Self { centre, e1, e2 }
    }

    pub fn centre(&self) -> UnitVec {
        self.centre
    }

    /// The plane point of `p`, or `None` when `p` is less than `MIN_CENTRE_COS` in front of the centre.
    pub fn project(&self, p: UnitVec) -> Option<(f64, f64)> {
        let w = p.dot(self.centre);
        (w >= MIN_CENTRE_COS).then(|| (p.dot(self.e1) / w, p.dot(self.e2) / w))
    }

    /// The plane point of `p` in front of the centre (`w > 0`), for coverage tests; `None` behind.
    pub fn project_any(&self, p: UnitVec) -> Option<(f64, f64)> {
        let w = p.dot(self.centre);
        (w > 0.0).then(|| (p.dot(self.e1) / w, p.dot(self.e2) / w))
    }

    /// The sphere point of a plane point.
    pub fn unproject(&self, (x, y): (f64, f64)) -> UnitVec {
        let v = std::array::from_fn(|i| self.centre.0[i] + x * self.e1.0[i] + y * self.e2.0[i]);
        UnitVec::normalize(v).unwrap_or(self.centre)
    }
}

/// A centre from which every point of `all` is at least `MIN_CENTRE_COS` in front: the normalised
/// mean of `mean_of` when it qualifies (city-scale shapes keep exactly the frame they always had),
/// else the centre of the smallest cap holding `all`. `None` when no point of the sphere qualifies.
pub fn centre_for(mean_of: &[UnitVec], all: &[UnitVec]) -> Option<UnitVec> {
    let qualifies = |c: UnitVec| all.iter().all(|v| v.dot(c) >= MIN_CENTRE_COS);
    let mut sum = [0.0; 3];
    for v in mean_of {
        (0..3).for_each(|i| sum[i] += v.0[i]);
    }
    if let Some(mean) = UnitVec::normalize(sum) {
        if qualifies(mean) {
            return Some(mean);
        }
    }
    smallest_cap(all).map(|(c, _)| c).filter(|c| qualifies(*c))
}

/// A cap as the smallest-cap search holds it: centre and the cosine of its radius.
type CapCos = (UnitVec, f64);

/// Containment tests the smallest-cap search may make: expected a few per point.
const CAP_WORK_PER_POINT: usize = 256;
const CAP_WORK_BASE: usize = 1 << 22;

/// Slack of the containment test, so that points on a cap's rim stay inside despite rounding.
const RIM_SLACK: f64 = 1e-12;

fn holds(cap: CapCos, p: UnitVec) -> bool {
    cap.0.dot(p) >= cap.1 - RIM_SLACK
}

fn cap2(a: UnitVec, b: UnitVec) -> Option<CapCos> {
    let c = UnitVec::normalize(std::array::from_fn(|i| a.0[i] + b.0[i]))?;
    Some((c, c.dot(a).min(c.dot(b))))
}

fn cap3(a: UnitVec, b: UnitVec, c: UnitVec) -> Option<CapCos> {
    let ab = UnitVec(std::array::from_fn(|i| b.0[i] - a.0[i]));
    let ac = UnitVec(std::array::from_fn(|i| c.0[i] - a.0[i]));
    let mut n = UnitVec::normalize(ab.cross(ac))?;
    if n.dot(a) < 0.0 {
        n = UnitVec(n.0.map(|x| -x));
    }
    Some((n, n.dot(a).min(n.dot(b)).min(n.dot(c))))
}

/// The smallest cap holding every point (Welzl's incremental algorithm, as for the smallest
/// enclosing circle: each cap is fixed by at most three points on its rim). Correct when the points
/// lie in an open hemisphere; otherwise it returns some cap and the caller's check refuses it. The
/// points are visited in a fixed pseudo-random order (expected linear time; the core takes no
/// randomness, and a fixed order is enough against shapes drawn by people). A point order crafted
/// against that shuffle could make it cubic: past `CAP_WORK_PER_POINT` tests per point it gives up
/// (`None`, so the shape is refused as not fitting a hemisphere).
pub fn smallest_cap(points: &[UnitVec]) -> Option<CapCos> {
    let mut order: Vec<UnitVec> = points.to_vec();
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15 ^ order.len() as u64;
    for i in (1..order.len()).rev() {
        // xorshift64*: a fixed shuffle.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        let r = state.wrapping_mul(0x2545_f491_4f6c_dd1d);
        order.swap(i, (r % (i as u64 + 1)) as usize);
    }
    let first = *order.first()?;
    let mut work = CAP_WORK_BASE.saturating_add(CAP_WORK_PER_POINT.saturating_mul(order.len()));
    let mut spend = |n: usize| -> Option<()> {
        work = work.checked_sub(n)?;
        Some(())
    };
    let mut cap: CapCos = (first, 1.0);
    for i in 1..order.len() {
        if holds(cap, order[i]) {
            continue;
        }
        cap = (order[i], 1.0);
        spend(i)?;
        for j in 0..i {
            if holds(cap, order[j]) {
                continue;
            }
            cap = cap2(order[i], order[j])?;
            spend(j)?;
            for k in 0..j {
                if !holds(cap, order[k]) {
                    cap = cap3(order[i], order[j], order[k])?;
                }
            }
        }
    }
    Some(cap)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::position::LatLon;

    fn v(lat: f64, lon: f64) -> UnitVec {
        UnitVec::from_latlon(LatLon::new(lat, lon).unwrap())
    }

    #[test]
    fn the_smallest_cap_of_a_triangle_is_its_circumcircle_or_its_longest_side() {
        // Equilateral around the north pole: the circumcircle, centred on the pole.
        let (c, cos_r) = smallest_cap(&[v(60.0, 0.0), v(60.0, 120.0), v(60.0, -120.0)]).unwrap();
        assert!(c.angle(v(90.0, 0.0)) < 1e-12);
        assert!((cos_r - 30f64.to_radians().cos()).abs() < 1e-12);
        // Obtuse: the cap over the longest side, the third vertex inside.
        let (c, cos_r) = smallest_cap(&[v(0.0, -40.0), v(0.0, 40.0), v(5.0, 0.0)]).unwrap();
        assert!(c.angle(v(0.0, 0.0)) < 1e-12);
        assert!((cos_r - 40f64.to_radians().cos()).abs() < 1e-12);
    }

    #[test]
    fn the_mean_centre_is_kept_when_every_vertex_is_in_front_of_it() {
        let ring = [v(48.85, 2.35), v(48.86, 2.35), v(48.86, 2.36)];
        let mean = UnitVec::normalize(std::array::from_fn(|i| {
            ring.iter().map(|p| p.0[i]).sum::<f64>()
        }))
        .unwrap();
        assert_eq!(centre_for(&ring, &ring), Some(mean));
    }

    #[test]
    fn a_triangle_spanning_a_third_of_the_globe_gets_a_centre_though_its_mean_fails() {
        // The mean of these three is 89.5 degrees from the first vertex; the cap around 60E holds all.
        let ring = [v(0.0, 0.0), v(10.0, 120.0), v(-10.0, 120.0)];
        let mean = UnitVec::normalize(std::array::from_fn(|i| {
            ring.iter().map(|p| p.0[i]).sum::<f64>()
        }))
        .unwrap();
        assert!(
            mean.dot(ring[0]) < MIN_CENTRE_COS,
            "the old rule refused it"
        );
        let c = centre_for(&ring, &ring).unwrap();
        assert!(ring.iter().all(|p| p.dot(c) > 0.45), "{c:?}");
    }

    #[test]
    fn points_in_no_open_hemisphere_get_no_centre() {
        let equator = [v(0.0, 0.0), v(0.0, 120.0), v(0.0, -120.0)];
        assert_eq!(centre_for(&equator, &equator), None);
        let tetrahedron = [
            v(90.0, 0.0),
            v(-19.47, 0.0),
            v(-19.47, 120.0),
            v(-19.47, -120.0),
        ];
        assert_eq!(centre_for(&tetrahedron, &tetrahedron), None);
        // Just past the margin: all within 89.6 degrees of the pole only.
        let wide = [v(0.4, 0.0), v(0.4, 120.0), v(0.4, -120.0)];
        assert_eq!(centre_for(&wide, &wide), None);
        let narrow = [v(0.7, 0.0), v(0.7, 120.0), v(0.7, -120.0)];
        assert!(centre_for(&narrow, &narrow).is_some());
    }

    #[test]
    fn a_projected_point_comes_back_where_it_was() {
        let f = Frame::new(v(48.85, 2.35));
        let p = v(48.9, 2.4);
        let back = f.unproject(f.project(p).unwrap());
        assert!(back.angle(p) < 1e-15);
        assert_eq!(f.project(v(-48.85, -177.65)), None);
    }
}
