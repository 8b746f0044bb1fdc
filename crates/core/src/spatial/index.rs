//! The per-hunt R-tree of targets: 3-D boxes on the unit sphere (no antimeridian or pole special
//! cases), queried with the fix grown by the accuracy allowance, confirmed by the exact shape test.

use std::collections::HashMap;

use rstar::{AABB, RTree, RTreeObject};

use super::geodesic::MIN_RADIUS_M;
use super::polygon::Cap;
use super::shape::Shape;
use super::sphere::UnitVec;
use crate::domain::geofence::AccuracyPolicy;
use crate::domain::ids::TargetId;
use crate::domain::position::LatLon;

/// A target as the check-in path needs it.
#[derive(Debug, Clone)]
pub struct IndexedTarget {
    pub id: TargetId,
    pub name: String,
    pub points: i32,
    pub prerequisites: Vec<TargetId>,
    pub shape: Shape,
}

/// An R-tree entry. Invariant: its envelope never changes after insertion (a move is remove + insert).
#[derive(Debug, Clone)]
struct Entry {
    envelope: AABB<[f64; 3]>,
    slot: u32,
}

impl RTreeObject for Entry {
    type Envelope = AABB<[f64; 3]>;

    fn envelope(&self) -> Self::Envelope {
        self.envelope
    }
}

fn cap_envelope(cap: &Cap) -> AABB<[f64; 3]> {
    let (lo, hi) = cap.aabb();
    AABB::from_corners(lo, hi)
}

/// All targets of one hunt at one `targets_version`. Immutable: a change builds a new index.
#[derive(Debug, Default)]
pub struct HuntIndex {
    tree: RTree<Entry>,
    targets: Vec<IndexedTarget>,
    by_id: HashMap<TargetId, u32>,
}

impl HuntIndex {
    /// Bulk-loads the tree (O(n log n)).
    pub fn build(targets: Vec<IndexedTarget>) -> Self {
        let entries = targets
            .iter()
            .enumerate()
            .map(|(slot, t)| Entry {
                envelope: cap_envelope(&t.shape.cap()),
                slot: slot as u32,
            })
            .collect();
        let by_id = targets
            .iter()
            .enumerate()
            .map(|(slot, t)| (t.id, slot as u32))
            .collect();
        Self {
            tree: RTree::bulk_load(entries),
            targets,
            by_id,
        }
    }

    /// Number of targets.
    pub fn len(&self) -> usize {
        self.targets.len()
    }

    /// Whether the hunt has no target.
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }

    /// A target by id.
    pub fn get(&self, id: TargetId) -> Option<&IndexedTarget> {
        self.by_id
            .get(&id)
            .map(|&slot| &self.targets[slot as usize])
    }

    /// Every target that `policy` admits for a fix at `fix` with uncertainty `accuracy_m`.
    pub fn admitted(
        &self,
        fix: LatLon,
        accuracy_m: f64,
        policy: AccuracyPolicy,
    ) -> Vec<&IndexedTarget> {
        let allowance_rad =
            policy.outward_allowance_m(accuracy_m) / MIN_RADIUS_M * (1.0 + 1e-9) + 1e-12;
        let query = cap_envelope(&Cap {
            centre: UnitVec::from_latlon(fix),
            radius_rad: allowance_rad,
        });
        self.tree
            .locate_in_envelope_intersecting(&query)
            .map(|e| &self.targets[e.slot as usize])
            .filter(|t| t.shape.admits(fix, accuracy_m, policy))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spatial::polygon::SphericalPolygon;
    use crate::spatial::shape::Circle;

    fn p(lat: f64, lon: f64) -> LatLon {
        LatLon::new(lat, lon).unwrap()
    }

    fn target(name: &str, shape: Shape) -> IndexedTarget {
        IndexedTarget {
            id: TargetId(uuid::Uuid::new_v4()),
            name: name.into(),
            points: 1,
            prerequisites: vec![],
            shape,
        }
    }

    #[test]
    fn overlapping_targets_are_all_found_and_far_ones_are_not() {
        let index = HuntIndex::build(vec![
            target("a", Shape::Circle(Circle::new(p(48.8584, 2.2945), 50.0))),
            target("b", Shape::Circle(Circle::new(p(48.8586, 2.2946), 50.0))),
            target("far", Shape::Circle(Circle::new(p(48.8606, 2.3376), 50.0))),
        ]);
        let mut names: Vec<_> = index
            .admitted(p(48.8585, 2.2945), 10.0, AccuracyPolicy::Centre)
            .iter()
            .map(|t| t.name.clone())
            .collect();
        names.sort();
        assert_eq!(names, ["a", "b"]);
    }

    #[test]
    fn the_index_finds_targets_across_the_antimeridian() {
        let ring = [
            (179.999, 0.0),
            (-179.999, 0.0),
            (-179.999, 0.001),
            (179.999, 0.001),
            (179.999, 0.0),
        ]
        .iter()
        .map(|&(lon, lat)| p(lat, lon))
        .collect();
        let index = HuntIndex::build(vec![
            target(
                "poly",
                Shape::Polygon(SphericalPolygon::new(&[vec![ring]]).unwrap()),
            ),
            target("circle", Shape::Circle(Circle::new(p(0.0, 180.0), 30.0))),
        ]);
        assert_eq!(
            index
                .admitted(p(0.0005, -180.0), 5.0, AccuracyPolicy::Centre)
                .len(),
            1
        );
        assert_eq!(
            index
                .admitted(p(0.0001, -179.9999), 5.0, AccuracyPolicy::Centre)
                .len(),
            2
        );
    }

    #[test]
    fn lenient_grows_the_search_by_the_accuracy() {
        let index = HuntIndex::build(vec![target(
            "a",
            Shape::Circle(Circle::new(p(10.0, 10.0), 20.0)),
        )]);
        let fix = p(10.0 + 60.0 / 110_600.0, 10.0);
        assert!(index.admitted(fix, 30.0, AccuracyPolicy::Centre).is_empty());
        assert_eq!(index.admitted(fix, 45.0, AccuracyPolicy::Lenient).len(), 1);
    }
}
