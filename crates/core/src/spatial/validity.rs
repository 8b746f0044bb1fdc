//! OGC simple-feature validity of a Polygon or MultiPolygon judged on its great-circle edges: each
//! part in its own gnomonic frame (where those edges are straight, so planar validity is exact),
//! pairs of parts in a frame they share. Pure; reports every problem found, not only the first.
//!
//! The rules (README, "Decisions"): a ring has at least 3 distinct positions (consecutive repeats
//! are dropped on import) and a non-zero area; no ring crosses or touches itself (a ring revisiting
//! one of its vertices, or a spike back along its own edge, is a self-touch); rings of a polygon
//! never cross nor share a stretch of boundary, may touch at one point (OGC), at most once per pair
//! and not in a cycle (which would cut the interior in two); holes lie inside the exterior ring and
//! outside each other; parts of a MultiPolygon have disjoint interiors (they may share edges, as an
//! antimeridian cut does); each part fits within 89.43 degrees of one point.

use super::frame::{Frame, centre_for};
use super::planar::{
    Budget, Contact, Pt, TOL, TooComplex, bbox, contact, edge, edge_tree, inside_rings,
    segment_distance,
};
use super::polygon::Rings;
use super::sphere::UnitVec;
use crate::domain::position::LatLon;

/// One reason a shape is invalid: the part (polygon of a MultiPolygon, 0 for a Polygon) and, when
/// one ring is at fault, that ring (0 the exterior, 1.. the holes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub part: usize,
    pub ring: Option<usize>,
    pub reason: String,
}

/// Every problem of `polys` (GeoJSON-nested polygons); empty when the shape is valid.
pub fn problems(polys: &[Rings]) -> Vec<Problem> {
    let vertices = polys.iter().flatten().map(Vec::len).sum();
    let mut budget = Budget::for_vertices(vertices);
    let mut out = Vec::new();
    let mut good = Vec::new();
    for (part, rings) in polys.iter().enumerate() {
        let mut found = Vec::new();
        let checked = check_part(rings, &mut budget, &mut |ring, reason| {
            found.push(Problem { part, ring, reason });
        });
        if checked.is_err() {
            out.extend(found);
            out.push(too_complex(part));
            return out;
        }
        if found.is_empty() {
            good.push(part);
        }
        out.extend(found);
    }
    if super::overlap::check_parts(polys, &good, &mut budget, &mut out).is_err() {
        out.push(too_complex(polys.len().saturating_sub(1)));
    }
    out
}

fn too_complex(part: usize) -> Problem {
    Problem {
        part,
        ring: None,
        reason:
            "the shape is too complex to validate (edges overlapping each other's extent by the \
                 thousands): simplify it"
                .into(),
    }
}

/// Where a plane point is, as a GeoJSON position (`[lon, lat]`, 7 decimals: about 1 cm).
pub fn position_text(frame: &Frame, p: Pt) -> String {
    let ll = frame.unproject(p).to_latlon();
    format!("[{:.7}, {:.7}]", ll.lon(), ll.lat())
}

/// Unit vectors of a ring without its closing position.
pub fn open_units(ring: &[LatLon]) -> Vec<UnitVec> {
    let open = match ring.split_last() {
        Some((last, rest)) if ring.first() == Some(last) && !rest.is_empty() => rest,
        _ => ring,
    };
    open.iter().map(|p| UnitVec::from_latlon(*p)).collect()
}

/// The frame of a group of rings (a part, or two parts together), `None` when it fits no frame.
pub fn frame_for<'a>(
    exteriors: impl Iterator<Item = &'a Vec<LatLon>>,
    all: impl Iterator<Item = &'a Vec<LatLon>>,
) -> Option<Frame> {
    let mean_of: Vec<UnitVec> = exteriors.flat_map(|r| open_units(r)).collect();
    let all: Vec<UnitVec> = all.flat_map(|r| open_units(r)).collect();
    centre_for(&mean_of, &all).map(Frame::new)
}

/// A ring in `frame`'s plane as an open vertex list, with consecutive points closer than `TOL`
/// merged (the same position repeated, or two longitudes of a pole).
pub fn plane_ring(frame: &Frame, ring: &[LatLon]) -> Vec<Pt> {
    let mut out: Vec<Pt> = Vec::with_capacity(ring.len());
    for v in open_units(ring) {
        let Some(p) = frame.project(v) else { continue };
        if out
            .last()
            .is_none_or(|q| (p.0 - q.0).hypot(p.1 - q.1) > TOL)
        {
            out.push(p);
        }
    }
    while out.len() > 1
        && out
            .first()
            .zip(out.last())
            .is_some_and(|(a, b)| (a.0 - b.0).hypot(a.1 - b.1) <= TOL)
    {
        out.pop();
    }
    out
}

fn ring_name(r: usize) -> String {
    if r == 0 {
        "the exterior ring".into()
    } else {
        format!("hole {r}")
    }
}

/// Checks one polygon (exterior ring and holes), reporting each problem as (ring, reason).
fn check_part(
    rings: &Rings,
    budget: &mut Budget,
    report: &mut dyn FnMut(Option<usize>, String),
) -> Result<(), TooComplex> {
    let Some(frame) = frame_for(rings.iter().take(1), rings.iter()) else {
        report(
            None,
            "the polygon must lie inside a hemisphere: all its positions within 89.4 degrees of one point"
                .into(),
        );
        return Ok(());
    };
    let plane: Vec<Vec<Pt>> = rings.iter().map(|r| plane_ring(&frame, r)).collect();
    let mut usable = vec![true; plane.len()];
    for (r, ring) in plane.iter().enumerate() {
        if ring.len() < 3 {
            report(
                Some(r),
                format!("{} needs at least 3 distinct positions", ring_name(r)),
            );
            usable[r] = false;
        } else if on_one_line(ring) {
            report(
                Some(r),
                format!(
                    "{} has zero area (its positions are on one line)",
                    ring_name(r)
                ),
            );
            usable[r] = false;
        }
    }
    let tree = edge_tree(&plane, |r| usable[r]);
    let mut self_hit: Vec<Option<(Pt, bool)>> = vec![None; plane.len()];
    let mut pair_bad: std::collections::BTreeMap<(usize, usize), String> = Default::default();
    let mut touches: std::collections::BTreeMap<(usize, usize), Vec<Pt>> = Default::default();
    for (x, y) in tree.intersection_candidates_with_other_tree(&tree) {
        budget.spend(1)?;
        let (e, f) = (x.data, y.data);
        if (e.ring, e.index) >= (f.ring, f.index) {
            continue;
        }
        let ((a, b), (c, d)) = (edge(&plane, e), edge(&plane, f));
        if e.ring == f.ring {
            if self_hit[e.ring].is_some_and(|(_, spike)| spike) {
                continue;
            }
            let n = plane[e.ring].len();
            let spike = if (e.index + 1) % n == f.index {
                spike_at(a, b, d)
            } else if (f.index + 1) % n == e.index {
                spike_at(c, d, b)
            } else {
                contact(a, b, c, d).map(|k| (contact_point(a, b, k), false))
            };
            // A spike says more than "touches itself": it wins whichever pair is met first.
            if spike.is_some_and(|(_, is_spike)| is_spike) || self_hit[e.ring].is_none() {
                self_hit[e.ring] = spike.or(self_hit[e.ring]);
            }
            continue;
        }
        let key = (e.ring, f.ring);
        match contact(a, b, c, d) {
            None => {}
            Some(Contact::Touch { at, .. }) => touches.entry(key).or_default().push(at),
            Some(k) => {
                let at = contact_point(a, b, k);
                let how = if matches!(k, Contact::Cross(_)) {
                    "cross"
                } else {
                    "share a stretch of boundary"
                };
                pair_bad.entry(key).or_insert_with(|| {
                    format!(
                        "{} and {} {how} near {}",
                        ring_name(key.0),
                        ring_name(key.1),
                        position_text(&frame, at)
                    )
                });
            }
        }
    }
    for (r, hit) in self_hit.iter().enumerate() {
        if let Some((at, spike)) = hit {
            let what = if *spike {
                "turns back along itself (a spike)"
            } else {
                "crosses or touches itself"
            };
            report(
                Some(r),
                format!(
                    "{} {what} near {}",
                    ring_name(r),
                    position_text(&frame, *at)
                ),
            );
            usable[r] = false;
        }
    }
    for (&(_, r2), reason) in &pair_bad {
        report(Some(r2), reason.clone());
    }
    let mut forest = UnionFind::new(plane.len());
    let mut touch_at: std::collections::BTreeMap<(usize, usize), Pt> = Default::default();
    for (&(r1, r2), points) in &touches {
        if pair_bad.contains_key(&(r1, r2)) {
            continue;
        }
        let first = points[0];
        if let Some(other) = points
            .iter()
            .find(|p| (p.0 - first.0).hypot(p.1 - first.1) > TOL)
        {
            report(
                Some(r2),
                format!(
                    "{} and {} touch at more than one point ({} and {}), which cuts the polygon's interior",
                    ring_name(r1),
                    ring_name(r2),
                    position_text(&frame, first),
                    position_text(&frame, *other)
                ),
            );
        } else if !forest.join(r1, r2) {
            report(
                Some(r2),
                format!(
                    "{} touches rings that touch each other, enclosing part of the interior, near {}",
                    ring_name(r2),
                    position_text(&frame, first)
                ),
            );
        } else {
            touch_at.insert((r1, r2), first);
        }
    }
    // With no crossing and at most one touch, a ring is wholly inside or outside another: one vertex
    // away from the touch point tells which.
    let probe = |r: usize, other: usize| -> Pt {
        let t = touch_at.get(&(r.min(other), r.max(other)));
        plane[r]
            .iter()
            .copied()
            .find(|p| t.is_none_or(|t| (p.0 - t.0).hypot(p.1 - t.1) > TOL))
            .unwrap_or(plane[r][0])
    };
    let clean = |r1: usize, r2: usize| {
        usable[r1] && usable[r2] && !pair_bad.contains_key(&(r1.min(r2), r1.max(r2)))
    };
    for h in 1..plane.len() {
        if clean(0, h) {
            budget.spend(plane[0].len())?;
            if !inside_rings(probe(h, 0), [&plane[0][..]]) {
                report(
                    Some(h),
                    format!("{} is not inside the exterior ring", ring_name(h)),
                );
            }
        }
    }
    let holes = box_tree(&plane, |r| r > 0);
    for (x, y) in holes.intersection_candidates_with_other_tree(&holes) {
        budget.spend(1)?;
        let (h1, h2) = (x.data, y.data);
        if h1 >= h2 || !clean(h1, h2) {
            continue;
        }
        budget.spend(plane[h1].len() + plane[h2].len())?;
        if inside_rings(probe(h1, h2), [&plane[h2][..]])
            || inside_rings(probe(h2, h1), [&plane[h1][..]])
        {
            report(
                Some(h2),
                format!(
                    "{} and {} overlap: one lies inside the other",
                    ring_name(h1),
                    ring_name(h2)
                ),
            );
        }
    }
    Ok(())
}

/// Whether every position of a ring is within `TOL` of one line (the ring then has zero area).
fn on_one_line(ring: &[Pt]) -> bool {
    let a = ring[0];
    let far = |p: &&Pt| (p.0 - a.0).hypot(p.1 - a.1);
    let Some(&b) = ring.iter().max_by(|p, q| far(p).total_cmp(&far(q))) else {
        return true;
    };
    ring.iter().all(|&p| segment_distance(p, a, b).0 <= TOL)
}

/// Whether consecutive edges `a`-`b`-`c` turn back along each other: `c` on the first edge or `a`
/// on the second. The shared vertex `b` is where it happens.
fn spike_at(a: Pt, b: Pt, c: Pt) -> Option<(Pt, bool)> {
    (segment_distance(c, a, b).0 <= TOL || segment_distance(a, b, c).0 <= TOL).then_some((b, true))
}

/// An R-tree of the boxes of the rings flagged in `include`, grown by `TOL`.
fn box_tree(
    rings: &[Vec<Pt>],
    include: impl Fn(usize) -> bool,
) -> rstar::RTree<rstar::primitives::GeomWithData<rstar::primitives::Rectangle<[f64; 2]>, usize>> {
    let items = rings
        .iter()
        .enumerate()
        .filter(|(r, ring)| include(*r) && !ring.is_empty())
        .map(|(r, ring)| {
            let (lo, hi) = bbox(ring);
            let aabb =
                rstar::AABB::from_corners([lo.0 - TOL, lo.1 - TOL], [hi.0 + TOL, hi.1 + TOL]);
            rstar::primitives::GeomWithData::new(rstar::primitives::Rectangle::from_aabb(aabb), r)
        })
        .collect();
    rstar::RTree::bulk_load(items)
}

fn contact_point(a: Pt, b: Pt, k: Contact) -> Pt {
    match k {
        Contact::Cross(p) | Contact::Touch { at: p, .. } => p,
        Contact::Overlap { t0, t1, .. } => super::planar::lerp(a, b, (t0 + t1) / 2.0),
    }
}

/// Rings joined by touch points; a touch between rings already joined closes a cycle.
struct UnionFind(Vec<usize>);

impl UnionFind {
    fn new(n: usize) -> Self {
        Self((0..n).collect())
    }

    fn root(&mut self, mut x: usize) -> usize {
        while self.0[x] != x {
            self.0[x] = self.0[self.0[x]];
            x = self.0[x];
        }
        x
    }

    /// Joins `a` and `b`; `false` when they were already joined.
    fn join(&mut self, a: usize, b: usize) -> bool {
        let (ra, rb) = (self.root(a), self.root(b));
        self.0[ra] = rb;
        ra != rb
    }
}

#[cfg(test)]
#[path = "validity_tests.rs"]
mod tests;
