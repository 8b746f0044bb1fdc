//! The families of targets, each a `Target` with its shape, its GeoJSON for PostGIS and the edges to
//! place fixes near; the short-edge squares come with their own fixes.

use rand::Rng;
use rand::rngs::StdRng;
use serde_json::{Value, json};

use nenufar::domain::position::LatLon;
use nenufar::spatial::geodesic::distance_m;
use nenufar::spatial::geojson::parse_polygonal;
use nenufar::spatial::polygon::SphericalPolygon;
use nenufar::spatial::shape::{Circle, Shape};

use super::fixes::accuracy_m;
use super::sphere::{V3, combine, cross, lon_wrapped, moved, norm, p, v3};
use crate::support::testdata;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Family {
    Circles,
    Paris,
    LongEdges,
    Antimeridian,
    Poles,
    HolesAndMulti,
    ShortEdges,
}

impl Family {
    /// In declaration order: `family as usize` indexes it.
    pub(super) const ALL: [Self; 7] = [
        Self::Circles,
        Self::Paris,
        Self::LongEdges,
        Self::Antimeridian,
        Self::Poles,
        Self::HolesAndMulti,
        Self::ShortEdges,
    ];
}

pub(super) struct Target {
    pub(super) family: Family,
    pub(super) name: String,
    pub(super) shape: Shape,
    /// The same geometry as GeoJSON, for PostGIS (a Point for a circle).
    pub(super) geometry: Value,
    /// Circles only; negative for polygons.
    pub(super) radius_m: f64,
    /// Every non-degenerate edge of every ring, on the unit sphere, to place fixes near.
    pub(super) edges: Vec<(V3, V3)>,
    /// Edges to favour (the long east-west ones), indices into `edges`.
    pub(super) favoured: Vec<usize>,
}

pub(super) struct Fix {
    pub(super) target: usize,
    pub(super) at: LatLon,
    pub(super) accuracy_m: f64,
}

fn circle(family: Family, name: String, lat: f64, lon: f64, radius_m: f64) -> Target {
    Target {
        family,
        name,
        shape: Shape::Circle(Circle::new(p(lat, lon), radius_m)),
        geometry: json!({"type": "Point", "coordinates": [lon, lat]}),
        radius_m,
        edges: Vec::new(),
        favoured: Vec::new(),
    }
}

/// A polygon target from a GeoJSON Polygon or MultiPolygon; `favour` picks edges to place fixes near.
fn polygon(
    family: Family,
    name: String,
    geometry: Value,
    favour: fn(LatLon, LatLon) -> bool,
) -> Target {
    let rings = parse_polygonal(&geometry).unwrap();
    // Every oracle shape (the arrondissements, long edges, antimeridian and polar rings, holes, a
    // MultiPolygon) is a valid simple feature: the import would take it.
    let problems = nenufar::spatial::validity::problems(&rings);
    assert!(problems.is_empty(), "{name}: {problems:?}");
    let shape = Shape::Polygon(SphericalPolygon::new(&rings).unwrap());
    let mut edges = Vec::new();
    let mut favoured = Vec::new();
    for ring in rings.iter().flatten() {
        for pair in ring.windows(2) {
            if pair[0] == pair[1] {
                continue;
            }
            if favour(pair[0], pair[1]) {
                favoured.push(edges.len());
            }
            edges.push((v3(pair[0]), v3(pair[1])));
        }
    }
    Target {
        family,
        name,
        shape,
        geometry,
        radius_m: -1.0,
        edges,
        favoured,
    }
}

fn no_favourite(_: LatLon, _: LatLon) -> bool {
    false
}

/// East-west edges of 10 km and more.
fn long_east_west(a: LatLon, b: LatLon) -> bool {
    a.lat() == b.lat() && distance_m(a, b) >= 10_000.0
}

fn ring(coords: &[(f64, f64)]) -> Value {
    let mut positions: Vec<Value> = coords.iter().map(|&(lon, lat)| json!([lon, lat])).collect();
    positions.push(positions[0].clone());
    Value::Array(positions)
}

pub(super) fn circles(rng: &mut StdRng) -> Vec<Target> {
    let mut out = Vec::new();
    for i in 0..200 {
        let (lat, lon) = (
            rng.random_range(48.815..48.905),
            rng.random_range(2.25..2.42),
        );
        let radius_m = rng.random_range(5f64.ln()..500f64.ln()).exp();
        out.push(circle(
            Family::Circles,
            format!("circle {i}"),
            lat,
            lon,
            radius_m,
        ));
    }
    for i in 0..5 {
        let (lat, lon) = (rng.random_range(48.6..49.1), rng.random_range(2.0..2.7));
        let radius_m = rng.random_range(10_000.0..50_000.0);
        out.push(circle(
            Family::Circles,
            format!("large circle {i}"),
            lat,
            lon,
            radius_m,
        ));
    }
    out
}

pub(super) fn paris() -> Vec<Target> {
    let text = std::fs::read_to_string(testdata("paris/arrondissements.geojson")).unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    let features = doc["features"].as_array().unwrap();
    assert_eq!(features.len(), 20);
    features
        .iter()
        .map(|f| {
            let name = format!("arrondissement {}", f["properties"]["c_ar"]);
            polygon(Family::Paris, name, f["geometry"].clone(), no_favourite)
        })
        .collect()
}

/// Quadrilaterals between two parallels: the east-west edges are great circles that bulge poleward
/// (2.3 m for 10 km at Paris latitude, kilometres for 300 km at 60N).
pub(super) fn long_edges(rng: &mut StdRng) -> Vec<Target> {
    let lengths_km = [
        10.0, 12.0, 15.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0, 160.0, 200.0, 250.0, 300.0,
    ];
    lengths_km
        .iter()
        .enumerate()
        .map(|(i, &km)| {
            let south: f64 = rng.random_range(40.0..68.0);
            let north = (south + rng.random_range(0.1..1.5)).min(70.0);
            let dlon = km * 1000.0 / (111_320.0 * f64::to_radians(south).cos());
            let west = rng.random_range(-170.0..170.0 - dlon);
            let mut corners = vec![
                (west, south),
                (west + dlon, south),
                (west + dlon, north),
                (west, north),
            ];
            if rng.random_bool(0.5) {
                corners.reverse();
            }
            let geometry = json!({"type": "Polygon", "coordinates": [ring(&corners)]});
            polygon(
                Family::LongEdges,
                format!("quad {i} ({km} km edges)"),
                geometry,
                long_east_west,
            )
        })
        .collect()
}

pub(super) fn antimeridian() -> Vec<Target> {
    let fiji = ring(&[
        (179.5, -17.0),
        (-179.5, -17.0),
        (-179.5, -16.0),
        (179.5, -16.0),
    ]);
    let aleutians = ring(&[(178.0, 51.0), (-177.0, 51.0), (-177.0, 52.5), (178.0, 52.5)]);
    vec![
        polygon(
            Family::Antimeridian,
            "across the antimeridian at 17S".into(),
            json!({"type": "Polygon", "coordinates": [fiji]}),
            no_favourite,
        ),
        polygon(
            Family::Antimeridian,
            "across the antimeridian at 51N".into(),
            json!({"type": "Polygon", "coordinates": [aleutians]}),
            long_east_west,
        ),
    ]
}

pub(super) fn poles() -> Vec<Target> {
    let north: Vec<(f64, f64)> = (0..8)
        .map(|k| (lon_wrapped(f64::from(k) * 45.0), 85.0))
        .collect();
    let south: Vec<(f64, f64)> = (0..7)
        .rev()
        .map(|k| (lon_wrapped(10.0 + f64::from(k) * 360.0 / 7.0), -82.0))
        .collect();
    vec![
        polygon(
            Family::Poles,
            "around the north pole".into(),
            json!({"type": "Polygon", "coordinates": [ring(&north)]}),
            no_favourite,
        ),
        polygon(
            Family::Poles,
            "around the south pole".into(),
            json!({"type": "Polygon", "coordinates": [ring(&south)]}),
            no_favourite,
        ),
    ]
}

pub(super) fn holes_and_multi() -> Vec<Target> {
    let outer = ring(&[(4.80, 45.74), (4.86, 45.74), (4.86, 45.78), (4.80, 45.78)]);
    let hole = ring(&[(4.82, 45.75), (4.82, 45.77), (4.84, 45.77), (4.84, 45.75)]);
    // The MultiPolygon example of RFC 7946 (one part with a hole), 1-degree edges near the equator.
    let multi = json!({"type": "MultiPolygon", "coordinates": [
        [[[102.0, 2.0], [103.0, 2.0], [103.0, 3.0], [102.0, 3.0], [102.0, 2.0]]],
        [[[100.0, 0.0], [101.0, 0.0], [101.0, 1.0], [100.0, 1.0], [100.0, 0.0]],
         [[100.2, 0.2], [100.2, 0.8], [100.8, 0.8], [100.8, 0.2], [100.2, 0.2]]]
    ]});
    vec![
        polygon(
            Family::HolesAndMulti,
            "square with a hole".into(),
            json!({"type": "Polygon", "coordinates": [outer, hole]}),
            no_favourite,
        ),
        polygon(
            Family::HolesAndMulti,
            "RFC 7946 MultiPolygon".into(),
            multi,
            no_favourite,
        ),
    ]
}

/// Squares whose corner is cut by one edge of `l_m`, as exports of city data often leave (the Paris
/// arrondissements have 329 edges under 10 cm), with fixes straight out from that edge, where it is
/// the nearest part of the boundary, and accuracies near the distance (the lenient threshold).
pub(super) fn short_edge_targets_and_fixes(rng: &mut StdRng) -> (Vec<Target>, Vec<Fix>) {
    let (mut targets, mut fixes) = (Vec::new(), Vec::new());
    for (k, l_m) in [0.001, 0.002, 0.003, 0.005, 0.01, 0.02, 0.035, 0.1]
        .into_iter()
        .enumerate()
    {
        let (south, west): (f64, f64) =
            (rng.random_range(48.82..48.90), rng.random_range(2.26..2.41));
        let m_per_deg_lon = 111_320.0 * south.to_radians().cos();
        let (north, east) = (south + 300.0 / 111_200.0, west + 300.0 / m_per_deg_lon);
        let cut = l_m / 2f64.sqrt();
        let corners = [
            (west, south),
            (east, south),
            (east, north - cut / 111_200.0),
            (east - cut / m_per_deg_lon, north),
            (west, north),
        ];
        let geometry = json!({"type": "Polygon", "coordinates": [ring(&corners)]});
        let t = polygon(
            Family::ShortEdges,
            format!("square cut by a {} mm edge", l_m * 1000.0),
            geometry,
            no_favourite,
        );
        let (s, e) = t.edges[2];
        // The edge's outward normal, without the cancellation of s x e: (s + e) x (e - s) = 2 s x e.
        let mut out = norm(cross(combine(s, 1.0, e, 1.0), combine(e, 1.0, s, -1.0)));
        let centre = v3(p((south + north) / 2.0, (west + east) / 2.0));
        if out[0] * centre[0] + out[1] * centre[1] + out[2] * centre[2] > 0.0 {
            out = out.map(|x| -x);
        }
        let mid = norm(combine(s, 1.0, e, 1.0));
        for _ in 0..150 {
            let d = rng.random_range(5f64.ln()..300f64.ln()).exp();
            let a = if rng.random_bool(0.5) {
                d + rng.random_range(-0.05..0.05)
            } else {
                accuracy_m(rng)
            };
            fixes.push(Fix {
                target: k,
                at: moved(mid, out, d),
                accuracy_m: a.max(1.0),
            });
        }
        targets.push(t);
    }
    (targets, fixes)
}
