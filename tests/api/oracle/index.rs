//! The `HuntIndex` holding every target, checked against a brute-force scan of the engine's shapes.

use nenufar::domain::ids::TargetId;
use nenufar::ids::RandomId;
use nenufar::spatial::index::{HuntIndex, IndexedTarget};
use nenufar::spatial::shape::Shape;

use super::families::{Fix, Target};
use super::judge::POLICIES;
use super::sphere::{V3, angle, combine, norm, v3};

/// Fewer metres per radian than anywhere on WGS84 (6 335 439 m, meridional at the equator): converts
/// angles on the sphere of geodetic coordinates into a lower bound of ellipsoidal distance.
const EARTH_MIN_RADIUS_M: f64 = 6_300_000.0;

/// A cap holding the target, computed here rather than by the engine: centre, radius (radians).
fn bounding_cap(t: &Target) -> (V3, f64) {
    match &t.shape {
        Shape::Circle(c) => (v3(c.centre()), c.radius_m() / EARTH_MIN_RADIUS_M),
        Shape::Polygon(_) => {
            let sum = t
                .edges
                .iter()
                .fold([0.0; 3], |acc, (v, _)| combine(acc, 1.0, *v, 1.0));
            let centre = norm(sum);
            let radius = t
                .edges
                .iter()
                .map(|&(v1, v2)| angle(centre, v1).max(angle(centre, v2)) + angle(v1, v2) / 2.0)
                .fold(0.0, f64::max);
            (centre, radius)
        }
    }
}

/// The index returns exactly the targets a brute-force scan admits (it must never miss one), for
/// every fix and policy, with every target of every family in one index.
pub(super) fn check_index(targets: &[Target], fixes: &[Fix]) -> (usize, Vec<String>) {
    let indexed: Vec<IndexedTarget> = targets
        .iter()
        .map(|t| IndexedTarget {
            id: TargetId::new_random(),
            name: t.name.clone(),
            points: 1,
            prerequisites: vec![],
            shape: t.shape.clone(),
        })
        .collect();
    let ids: Vec<TargetId> = indexed.iter().map(|t| t.id).collect();
    let caps: Vec<(V3, f64)> = targets.iter().map(bounding_cap).collect();
    let index = HuntIndex::build(indexed);
    let mut failures = Vec::new();
    let mut checked = 0;
    for fix in fixes {
        let at = v3(fix.at);
        // Targets that cannot admit the fix under any policy: farther than its accuracy plus a metre.
        let near: Vec<usize> = (0..targets.len())
            .filter(|&i| {
                (angle(at, caps[i].0) - caps[i].1) * EARTH_MIN_RADIUS_M <= fix.accuracy_m + 1.0
            })
            .collect();
        for policy in POLICIES {
            checked += 1;
            let mut got: Vec<TargetId> = index
                .admitted(fix.at, fix.accuracy_m, policy)
                .iter()
                .map(|t| t.id)
                .collect();
            let mut want: Vec<TargetId> = near
                .iter()
                .filter(|&&i| targets[i].shape.admits(fix.at, fix.accuracy_m, policy))
                .map(|&i| ids[i])
                .collect();
            got.sort();
            want.sort();
            if got != want {
                let name = |id: &TargetId| {
                    targets[ids.iter().position(|x| x == id).unwrap()]
                        .name
                        .clone()
                };
                failures.push(format!(
                    "index: at ({}, {}) accuracy {:.3} m {}: {:?}, brute force {:?}",
                    fix.at.lat(),
                    fix.at.lon(),
                    fix.accuracy_m,
                    policy.as_str(),
                    got.iter().map(name).collect::<Vec<_>>(),
                    want.iter().map(name).collect::<Vec<_>>()
                ));
            }
        }
    }
    (checked, failures)
}
