//! Planar predicates in a gnomonic frame, with a tolerance: how two segments meet (crossing,
//! touching at a point, running along each other), point-in-ring, ring area; the segment R-tree
//! that finds the pairs worth testing, and the work budget that bounds a validation by construction.
//!
//! Rounding turns a degenerate shape (a spike back along its own edge, a vertex placed on another
//! edge) into a near miss of some 1e-16 radians; `TOL` treats anything closer than 1e-12 (6 micrometres
//! on the Earth, far below any surveyed detail and far above rounding) as touching.

use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};

/// A point of a gnomonic plane (plane units are radians at the centre, longer away from it).
pub type Pt = (f64, f64);

/// Closer than this, two things of a plane touch.
pub const TOL: f64 = 1e-12;

fn sub(a: Pt, b: Pt) -> Pt {
    (a.0 - b.0, a.1 - b.1)
}

fn dot(a: Pt, b: Pt) -> f64 {
    a.0 * b.0 + a.1 * b.1
}

fn cross(a: Pt, b: Pt) -> f64 {
    a.0 * b.1 - a.1 * b.0
}

fn len(a: Pt) -> f64 {
    a.0.hypot(a.1)
}

/// The point at parameter `t` of segment `a`-`b`.
pub fn lerp(a: Pt, b: Pt, t: f64) -> Pt {
    (a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t)
}

/// Distance from `p` to segment `a`-`b`, and the parameter (0 at `a`, 1 at `b`) of the nearest point.
pub fn segment_distance(p: Pt, a: Pt, b: Pt) -> (f64, f64) {
    let ab = sub(b, a);
    let l2 = dot(ab, ab);
    let t = if l2 > 0.0 {
        (dot(sub(p, a), ab) / l2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    (len(sub(p, lerp(a, b, t))), t)
}

/// How two segments meet.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Contact {
    /// Their interiors cross at a point away from every endpoint.
    Cross(Pt),
    /// They meet at one point, at parameter `t` of the first and `u` of the second.
    Touch { at: Pt, t: f64, u: f64 },
    /// They run along each other over parameters `t0..t1` of the first, longer than `TOL`.
    Overlap {
        t0: f64,
        t1: f64,
        same_direction: bool,
    },
}

/// How segment `a`-`b` meets segment `c`-`d` (both longer than `TOL`), if at all.
pub fn contact(a: Pt, b: Pt, c: Pt, d: Pt) -> Option<Contact> {
    let (ab, cd) = (sub(b, a), sub(d, c));
    let (lab, lcd) = (len(ab), len(cd));
    let dc = cross(ab, sub(c, a)) / lab;
    let dd = cross(ab, sub(d, a)) / lab;
    if dc.abs() <= TOL && dd.abs() <= TOL {
        let tc = dot(sub(c, a), ab) / (lab * lab);
        let td = dot(sub(d, a), ab) / (lab * lab);
        let (lo, hi) = (tc.min(td).max(0.0), tc.max(td).min(1.0));
        let overlap = (hi - lo) * lab;
        if overlap > TOL {
            return Some(Contact::Overlap {
                t0: lo,
                t1: hi,
                same_direction: dot(ab, cd) > 0.0,
            });
        }
        if overlap < -TOL {
            return None;
        }
    }
    let ends = [
        (c, a, b, false, 0.0),
        (d, a, b, false, 1.0),
        (a, c, d, true, 0.0),
        (b, c, d, true, 1.0),
    ];
    let nearest = ends
        .iter()
        .map(|&(p, s, e, on_first_end, fixed)| {
            let (dist, along) = segment_distance(p, s, e);
            let (t, u) = if on_first_end {
                (fixed, along)
            } else {
                (along, fixed)
            };
            (dist, p, t, u)
        })
        .min_by(|x, y| x.0.total_cmp(&y.0));
    if let Some((dist, at, t, u)) = nearest {
        if dist <= TOL {
            return Some(Contact::Touch { at, t, u });
        }
    }
    let da = cross(cd, sub(a, c)) / lcd;
    let db = cross(cd, sub(b, c)) / lcd;
    if dc * dd < 0.0 && da * db < 0.0 {
        return Some(Contact::Cross(lerp(a, b, da / (da - db))));
    }
    None
}

/// Even-odd test of `p` against closed rings given as open vertex lists (the last joins the first).
pub fn inside_rings<'a>(p: Pt, rings: impl IntoIterator<Item = &'a [Pt]>) -> bool {
    let mut inside = false;
    for ring in rings {
        for (i, &(x1, y1)) in ring.iter().enumerate() {
            let (x2, y2) = ring[(i + 1) % ring.len()];
            if (y1 > p.1) != (y2 > p.1) {
                let x_cross = x1 + (p.1 - y1) * (x2 - x1) / (y2 - y1);
                if p.0 < x_cross {
                    inside = !inside;
                }
            }
        }
    }
    inside
}

/// Signed area of an open ring, positive counter-clockwise.
pub fn signed_area(ring: &[Pt]) -> f64 {
    let n = ring.len();
    let origin = ring.first().copied().unwrap_or((0.0, 0.0));
    (0..n)
        .map(|i| cross(sub(ring[i], origin), sub(ring[(i + 1) % n], origin)))
        .sum::<f64>()
        / 2.0
}

/// Length of an open ring's boundary.
pub fn perimeter(ring: &[Pt]) -> f64 {
    (0..ring.len())
        .map(|i| len(sub(ring[(i + 1) % ring.len()], ring[i])))
        .sum()
}

/// The box of an open ring.
pub fn bbox(ring: &[Pt]) -> (Pt, Pt) {
    ring.iter().fold(
        (
            (f64::INFINITY, f64::INFINITY),
            (f64::NEG_INFINITY, f64::NEG_INFINITY),
        ),
        |(lo, hi), p| {
            (
                (lo.0.min(p.0), lo.1.min(p.1)),
                (hi.0.max(p.0), hi.1.max(p.1)),
            )
        },
    )
}

/// One edge of a ring: `ring` and `index` (from vertex `index` to the next).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EdgeId {
    pub ring: usize,
    pub index: usize,
}

/// The edges of rings, ready for pair searches.
pub type EdgeTree = RTree<GeomWithData<Rectangle<[f64; 2]>, EdgeId>>;

/// The end points of an edge.
pub fn edge(rings: &[Vec<Pt>], e: EdgeId) -> (Pt, Pt) {
    let ring = &rings[e.ring];
    (ring[e.index], ring[(e.index + 1) % ring.len()])
}

/// An R-tree of every edge of the rings flagged in `include`, boxes grown by `TOL`.
pub fn edge_tree(rings: &[Vec<Pt>], include: impl Fn(usize) -> bool) -> EdgeTree {
    let mut items = Vec::new();
    for (r, ring) in rings.iter().enumerate().filter(|(r, _)| include(*r)) {
        for index in 0..ring.len() {
            let id = EdgeId { ring: r, index };
            let (a, b) = edge(rings, id);
            let lo = [a.0.min(b.0) - TOL, a.1.min(b.1) - TOL];
            let hi = [a.0.max(b.0) + TOL, a.1.max(b.1) + TOL];
            let rect = Rectangle::from_aabb(AABB::from_corners(lo, hi));
            items.push(GeomWithData::new(rect, id));
        }
    }
    RTree::bulk_load(items)
}

/// Units of work a validation may spend: one per candidate edge pair, one per vertex visited by a
/// point-in-ring test. Sized from the input, so a shape whose edge boxes nearly all overlap each
/// other (no drawing does that) is refused as too complex instead of taking quadratic time.
#[derive(Debug, Clone)]
pub struct Budget {
    left: u64,
}

/// Work allowed for every vertex of the input, and in any case.
const WORK_PER_VERTEX: u64 = 256;
const WORK_BASE: u64 = 1 << 24;

/// The work budget ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooComplex;

impl Budget {
    /// A budget for an input of `vertices` positions.
    pub fn for_vertices(vertices: usize) -> Self {
        Self {
            left: WORK_BASE.saturating_add(WORK_PER_VERTEX.saturating_mul(vertices as u64)),
        }
    }

    /// Spends `units`, failing once the budget is exhausted.
    pub fn spend(&mut self, units: usize) -> Result<(), TooComplex> {
        self.left = self.left.checked_sub(units as u64).ok_or(TooComplex)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crossing_segments_cross_at_their_intersection() {
        let c = contact((0.0, 0.0), (2.0, 2.0), (0.0, 2.0), (2.0, 0.0));
        assert_eq!(c, Some(Contact::Cross((1.0, 1.0))));
    }

    #[test]
    fn a_vertex_on_another_edge_touches_it_and_a_near_miss_does_not() {
        let c = contact((0.0, 0.0), (2.0, 0.0), (1.0, 0.0), (1.0, 1.0));
        assert_eq!(
            c,
            Some(Contact::Touch {
                at: (1.0, 0.0),
                t: 0.5,
                u: 0.0
            })
        );
        // A rounding-sized gap still touches; a micrometre-sized one (1e-9) does not.
        assert!(matches!(
            contact((0.0, 0.0), (2.0, 0.0), (1.0, 1e-14), (1.0, 1.0)),
            Some(Contact::Touch { .. })
        ));
        assert_eq!(
            contact((0.0, 0.0), (2.0, 0.0), (1.0, 1e-9), (1.0, 1.0)),
            None
        );
    }

    #[test]
    fn collinear_segments_overlap_and_say_which_way_they_run() {
        let c = contact((0.0, 0.0), (2.0, 0.0), (3.0, 0.0), (1.0, 0.0));
        assert_eq!(
            c,
            Some(Contact::Overlap {
                t0: 0.5,
                t1: 1.0,
                same_direction: false
            })
        );
        // End to end on one line: a single point.
        assert!(matches!(
            contact((0.0, 0.0), (1.0, 0.0), (1.0, 0.0), (2.0, 0.0)),
            Some(Contact::Touch { .. })
        ));
        assert_eq!(
            contact((0.0, 0.0), (1.0, 0.0), (2.0, 0.0), (3.0, 0.0)),
            None
        );
    }

    #[test]
    fn parallel_and_far_segments_do_not_meet() {
        assert_eq!(
            contact((0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (1.0, 1.0)),
            None
        );
        assert_eq!(
            contact((0.0, 0.0), (1.0, 1.0), (3.0, 0.0), (2.0, 1.0)),
            None
        );
    }

    #[test]
    fn the_area_of_a_counter_clockwise_square_is_positive() {
        let square = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)];
        assert_eq!(signed_area(&square), 1.0);
        let cw: Vec<Pt> = square.iter().rev().copied().collect();
        assert_eq!(signed_area(&cw), -1.0);
        assert_eq!(perimeter(&square), 4.0);
        assert!(inside_rings((0.5, 0.5), [&square[..]]));
        assert!(!inside_rings((1.5, 0.5), [&square[..]]));
    }

    #[test]
    fn a_budget_refuses_work_beyond_its_size() {
        let mut b = Budget { left: 10 };
        assert_eq!(b.spend(7), Ok(()));
        assert_eq!(b.spend(4), Err(TooComplex));
    }
}
