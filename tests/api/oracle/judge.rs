//! Judging: the engine against the oracle, the exclusion rule near thresholds, and the report.

use std::time::Instant;

use diesel_async::{AsyncConnection, AsyncPgConnection};
use geo::{Contains, LineString, Point, Polygon};

use nenufar::domain::geofence::AccuracyPolicy;
use nenufar::domain::position::LatLon;
use nenufar::spatial::geojson::parse_polygonal;

use super::families::{Family, Fix, Target};
use super::index::check_index;
use super::postgis::{Oracle, load_targets, oracle};
use crate::support::fresh_database;

pub(super) const POLICIES: [AccuracyPolicy; 3] = [
    AccuracyPolicy::Strict,
    AccuracyPolicy::Centre,
    AccuracyPolicy::Lenient,
];
/// A (fix, policy) pair whose PostGIS margin is this close to the policy's threshold is not judged.
const TIE_M: f64 = 0.01;
/// Our margin must match PostGIS's within this, wherever |margin| < `MARGIN_RANGE_M`.
const MARGIN_TOL_M: f64 = 0.01;
const MARGIN_RANGE_M: f64 = 2_000.0;

#[derive(Debug, Default, Clone)]
struct Tally {
    fixes: usize,
    compared: usize,
    excluded: usize,
    max_margin_diff_m: f64,
}

/// Compares every fix with the oracle; returns the failures, described.
fn judge(
    targets: &[Target],
    fixes: &[Fix],
    oracle: &[Option<Oracle>],
    tallies: &mut [Tally],
) -> Vec<String> {
    let mut failures = Vec::new();
    for (fix, pg) in fixes.iter().zip(oracle) {
        let t = &targets[fix.target];
        let tally = &mut tallies[t.family as usize];
        tally.fixes += 1;
        let Some(pg) = pg else {
            failures.push(format!("postgis: {}: no answer for {:?}", t.name, fix.at));
            continue;
        };
        let (a, at) = (fix.accuracy_m, fix.at);
        let ours_m = t.shape.signed_margin_m(at);
        let place = format!(
            "{}: fix ({}, {}) accuracy {a:.3} m",
            t.name,
            at.lat(),
            at.lon()
        );
        if pg.margin_m.abs() < MARGIN_RANGE_M {
            let diff = (ours_m - pg.margin_m).abs();
            tally.max_margin_diff_m = tally.max_margin_diff_m.max(diff);
            if diff.is_nan() || diff >= MARGIN_TOL_M {
                failures.push(format!(
                    "margin: {place}: ours {ours_m:.4} m, PostGIS {:.4} m",
                    pg.margin_m
                ));
            }
        }
        for (k, policy) in POLICIES.into_iter().enumerate() {
            let threshold_m = policy.threshold_m(a);
            if (pg.margin_m - threshold_m).abs() < TIE_M {
                tally.excluded += 1;
                continue;
            }
            tally.compared += 1;
            let ours = t.shape.admits(at, a, policy);
            // PostGIS's verdict functions must also agree with its own distances.
            let by_margin = pg.margin_m >= threshold_m;
            if ours != pg.admits[k] || by_margin != pg.admits[k] {
                failures.push(format!(
                    "verdict: {place}: {} ours {ours}, PostGIS {} (margin PostGIS {:.4} m, ours {ours_m:.4} m)",
                    policy.as_str(),
                    pg.admits[k],
                    pg.margin_m
                ));
            }
        }
    }
    failures
}

/// How many fixes of `family` a planar lon/lat test (geo's `Contains`) puts on the wrong side.
pub(super) fn planar_errors(
    targets: &[Target],
    fixes: &[Fix],
    oracle: &[Option<Oracle>],
    family: Family,
) -> (usize, usize) {
    let (mut judged, mut wrong) = (0, 0);
    for (fix, pg) in fixes.iter().zip(oracle) {
        let t = &targets[fix.target];
        let Some(pg) = pg else { continue };
        if t.family != family || pg.margin_m.abs() < TIE_M {
            continue;
        }
        let ls = |r: &Vec<LatLon>| {
            LineString::from(r.iter().map(|q| (q.lon(), q.lat())).collect::<Vec<_>>())
        };
        let planar = parse_polygonal(&t.geometry).unwrap().iter().any(|rings| {
            Polygon::new(ls(&rings[0]), rings[1..].iter().map(ls).collect())
                .contains(&Point::new(fix.at.lon(), fix.at.lat()))
        });
        judged += 1;
        if planar != (pg.margin_m >= 0.0) {
            wrong += 1;
        }
    }
    (judged, wrong)
}

/// What one run found.
pub(super) struct Outcome {
    pub(super) oracle: Vec<Option<Oracle>>,
    pub(super) failures: Vec<String>,
}

/// Judges `fixes` by PostGIS (one fresh database) and by the engine and its index; prints the counts.
pub(super) async fn run(label: &str, targets: &[Target], fixes: &[Fix]) -> Outcome {
    let started = Instant::now();
    let mut conn = AsyncPgConnection::establish(&fresh_database().await)
        .await
        .unwrap();
    load_targets(&mut conn, targets).await;
    let postgis_started = Instant::now();
    let oracle = oracle(&mut conn, fixes).await;
    let postgis_s = postgis_started.elapsed().as_secs_f64();
    let engine_started = Instant::now();
    let mut tallies = vec![Tally::default(); Family::ALL.len()];
    let mut failures = judge(targets, fixes, &oracle, &mut tallies);
    let (index_checks, index_failures) = check_index(targets, fixes);
    failures.extend(index_failures);
    let engine_s = engine_started.elapsed().as_secs_f64();

    eprintln!(
        "{label}: {} targets, {} fixes, accuracies 1-200 m, policies strict/centre/lenient",
        targets.len(),
        fixes.len()
    );
    for (family, t) in Family::ALL
        .iter()
        .zip(&tallies)
        .filter(|(_, t)| t.fixes > 0)
    {
        eprintln!(
            "  {family:?}: {} fixes, {} verdicts compared, {} (fix, policy) pairs excluded within {TIE_M} m of a threshold, max |margin diff| {:.2e} m",
            t.fixes, t.compared, t.excluded, t.max_margin_diff_m
        );
    }
    let max_diff = tallies
        .iter()
        .map(|t| t.max_margin_diff_m)
        .fold(0.0, f64::max);
    eprintln!(
        "  total: {} verdicts compared, {} excluded, max |margin diff| {max_diff:.2e} m where |margin| < {MARGIN_RANGE_M} m",
        tallies.iter().map(|t| t.compared).sum::<usize>(),
        tallies.iter().map(|t| t.excluded).sum::<usize>()
    );
    eprintln!("  index vs brute force: {index_checks} (fix, policy) queries");
    eprintln!(
        "  time: PostGIS {postgis_s:.1} s, engine {engine_s:.1} s, total {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Outcome { oracle, failures }
}

/// Fails with a count per kind of disagreement (verdict, margin, index, postgis) and examples of each.
pub(super) fn assert_no_failures(failures: &[String]) {
    let kinds = ["verdict", "index", "margin", "postgis"];
    let mut summary = Vec::new();
    let mut examples = Vec::new();
    for kind in kinds {
        let of_kind: Vec<&String> = failures
            .iter()
            .filter(|f| f.starts_with(&format!("{kind}:")))
            .collect();
        if !of_kind.is_empty() {
            summary.push(format!("{} {kind}", of_kind.len()));
            examples.extend(of_kind.into_iter().take(12).cloned());
        }
    }
    assert!(
        failures.is_empty(),
        "disagreements with PostGIS or with a brute-force scan: {}; examples:\n{}",
        summary.join(", "),
        examples.join("\n")
    );
}
