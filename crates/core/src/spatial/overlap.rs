//! Whether parts of a MultiPolygon overlap: their interiors must be disjoint, their boundaries may
//! touch or share edges (RFC 7946 cuts a shape at the antimeridian into parts sharing an edge). Two
//! parts are judged in one gnomonic frame holding both; parts far apart are skipped by their caps.

use std::collections::HashMap;

use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};

use super::frame::Frame;
use super::planar::{
    Budget, Contact, EdgeId, Pt, TOL, TooComplex, contact, edge, edge_tree, inside_rings, lerp,
    signed_area,
};
use super::polygon::{Cap, Rings};
use super::sphere::UnitVec;
use super::validity::{Problem, frame_for, open_units, plane_ring, position_text};

/// Reports every pair of parts among `good` (indexes of valid parts) whose interiors overlap.
pub fn check_parts(
    polys: &[Rings],
    good: &[usize],
    budget: &mut Budget,
    out: &mut Vec<Problem>,
) -> Result<(), TooComplex> {
    if good.len() < 2 {
        return Ok(());
    }
    let caps: Vec<GeomWithData<Rectangle<[f64; 3]>, usize>> = good
        .iter()
        .filter_map(|&i| {
            let (lo, hi) = part_cap(&polys[i])?.aabb();
            Some(GeomWithData::new(
                Rectangle::from_aabb(AABB::from_corners(lo, hi)),
                i,
            ))
        })
        .collect();
    let tree = RTree::bulk_load(caps);
    let mut pairs: Vec<(usize, usize)> = Vec::new();
    for (x, y) in tree.intersection_candidates_with_other_tree(&tree) {
        budget.spend(1)?;
        if x.data < y.data {
            pairs.push((x.data, y.data));
        }
    }
    pairs.sort_unstable();
    for (p, q) in pairs {
        let both = || polys[p].iter().chain(polys[q].iter());
        let exteriors = polys[p].iter().take(1).chain(polys[q].iter().take(1));
        let Some(frame) = frame_for(exteriors, both()) else {
            out.push(Problem {
                part: q,
                ring: None,
                reason: format!(
                    "parts {p} and {q} are too large and too close to be checked for overlap: \
                     together they must lie within 89.4 degrees of one point"
                ),
            });
            continue;
        };
        if let Some(at) = overlap(&frame, &polys[p], &polys[q], budget)? {
            out.push(Problem {
                part: q,
                ring: None,
                reason: format!(
                    "parts {p} and {q} overlap near {}",
                    position_text(&frame, at)
                ),
            });
        }
    }
    Ok(())
}

/// A cap holding a part: its frame centre, the farthest vertex plus half the longest edge.
fn part_cap(rings: &Rings) -> Option<Cap> {
    let frame = frame_for(rings.iter().take(1), rings.iter())?;
    let c = frame.centre();
    let mut radius: f64 = 0.0;
    for ring in rings {
        let vs: Vec<UnitVec> = open_units(ring);
        for (i, v) in vs.iter().enumerate() {
            let next = vs[(i + 1) % vs.len()];
            radius = radius.max(c.angle(*v) + 0.5 * v.angle(next));
        }
    }
    Some(Cap {
        centre: c,
        radius_rad: radius + 1e-9,
    })
}

/// A part in a shared frame, every ring turned so that the part's interior is on its left
/// (exterior counter-clockwise, holes clockwise).
fn oriented(frame: &Frame, rings: &Rings) -> Vec<Vec<Pt>> {
    rings
        .iter()
        .enumerate()
        .map(|(r, ring)| {
            let mut pts = plane_ring(frame, ring);
            let ccw = signed_area(&pts) > 0.0;
            if ccw != (r == 0) {
                pts.reverse();
            }
            pts
        })
        .collect()
}

/// Where an edge meets the other part: breakpoints (parameters) and stretches on its boundary.
#[derive(Debug, Default)]
struct Marks {
    cuts: Vec<f64>,
    shared: Vec<(f64, f64)>,
}

/// A point where the interiors of parts `p` and `q` overlap, if they do.
fn overlap(
    frame: &Frame,
    p: &Rings,
    q: &Rings,
    budget: &mut Budget,
) -> Result<Option<Pt>, TooComplex> {
    let (pp, qq) = (oriented(frame, p), oriented(frame, q));
    let (tp, tq) = (edge_tree(&pp, |_| true), edge_tree(&qq, |_| true));
    let mut marks_p: HashMap<(usize, usize), Marks> = HashMap::new();
    let mut marks_q: HashMap<(usize, usize), Marks> = HashMap::new();
    for (x, y) in tp.intersection_candidates_with_other_tree(&tq) {
        budget.spend(1)?;
        let ((a, b), (c, d)) = (edge(&pp, x.data), edge(&qq, y.data));
        let (mp, mq) = (key(x.data), key(y.data));
        match contact(a, b, c, d) {
            None => {}
            Some(Contact::Cross(at)) => return Ok(Some(at)),
            Some(Contact::Touch { t, u, .. }) => {
                marks_p.entry(mp).or_default().cuts.push(t);
                marks_q.entry(mq).or_default().cuts.push(u);
            }
            Some(Contact::Overlap {
                t0,
                t1,
                same_direction,
            }) => {
                // Interiors both on the left of edges running the same way: they overlap there.
                if same_direction {
                    return Ok(Some(lerp(a, b, (t0 + t1) / 2.0)));
                }
                let u0 = param(lerp(a, b, t0), c, d);
                let u1 = param(lerp(a, b, t1), c, d);
                marks_p.entry(mp).or_default().shared.push((t0, t1));
                marks_q
                    .entry(mq)
                    .or_default()
                    .shared
                    .push((u0.min(u1), u0.max(u1)));
            }
        }
    }
    // No crossing: each stretch of one boundary between contacts lies wholly inside the other part
    // or wholly outside it; one point of each stretch off the other boundary tells which.
    if let Some(at) = boundary_inside(&pp, &marks_p, &qq, budget)? {
        return Ok(Some(at));
    }
    boundary_inside(&qq, &marks_q, &pp, budget)
}

fn key(e: EdgeId) -> (usize, usize) {
    (e.ring, e.index)
}

/// Parameter along `c`-`d` of the point of it nearest to `p`.
fn param(p: Pt, c: Pt, d: Pt) -> f64 {
    super::planar::segment_distance(p, c, d).1
}

/// A point of `rings`' boundary strictly inside `other`, testing one point per stretch between
/// contacts (`marks`), if there is one.
fn boundary_inside(
    rings: &[Vec<Pt>],
    marks: &HashMap<(usize, usize), Marks>,
    other: &[Vec<Pt>],
    budget: &mut Budget,
) -> Result<Option<Pt>, TooComplex> {
    let other_size: usize = other.iter().map(Vec::len).sum();
    let mut test = |p: Pt| -> Result<bool, TooComplex> {
        budget.spend(other_size)?;
        Ok(inside_rings(p, other.iter().map(Vec::as_slice)))
    };
    for (r, ring) in rings.iter().enumerate() {
        let mut need = true;
        for i in 0..ring.len() {
            let e = EdgeId { ring: r, index: i };
            let (a, b) = edge(rings, e);
            let Some(m) = marks.get(&(r, i)) else {
                if need {
                    need = false;
                    let mid = lerp(a, b, 0.5);
                    if test(mid)? {
                        return Ok(Some(mid));
                    }
                }
                continue;
            };
            let length = (b.0 - a.0).hypot(b.1 - a.1);
            let mut cuts: Vec<f64> = vec![0.0, 1.0];
            cuts.extend(&m.cuts);
            cuts.extend(m.shared.iter().flat_map(|&(s, t)| [s, t]));
            cuts.sort_by(f64::total_cmp);
            for w in cuts.windows(2) {
                let (s, t) = (w[0], w[1]);
                let mid_t = (s + t) / 2.0;
                let on_shared = m.shared.iter().any(|&(lo, hi)| lo <= mid_t && mid_t <= hi);
                if (t - s) * length <= 2.0 * TOL || on_shared {
                    continue;
                }
                let mid = lerp(a, b, mid_t);
                if test(mid)? {
                    return Ok(Some(mid));
                }
            }
            need = true;
        }
    }
    Ok(None)
}
