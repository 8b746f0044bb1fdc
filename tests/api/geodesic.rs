//! Our geodesic distances against two independent oracles: Karney's test set (GeodTest-100, from
//! the shared test data) and PostGIS's `ST_Distance` on geography at city scale, where the
//! flat-earth estimate must also keep its bound.

use nenufar::domain::position::LatLon;
use nenufar::spatial::geodesic::{distance_m, flat_distance_m};

use crate::support::testdata;

/// One line of GeodTest: `lat1 lon1 azi1 lat2 lon2 azi2 s12 a12 m12 S12` (degrees, metres).
struct Geodesic {
    line: usize,
    from: LatLon,
    to: LatLon,
    s12_m: f64,
}

fn geodesics() -> Vec<Geodesic> {
    let text = std::fs::read_to_string(testdata("geodesic/GeodTest-100.dat")).unwrap();
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            let f: Vec<f64> = l.split_whitespace().map(|x| x.parse().unwrap()).collect();
            assert_eq!(f.len(), 10, "line {}: {l}", i + 1);
            Geodesic {
                line: i + 1,
                from: LatLon::new(f[0], f[1]).unwrap(),
                to: LatLon::new(f[3], f[4]).unwrap(),
                s12_m: f[6],
            }
        })
        .collect()
}

#[test]
fn distances_match_karneys_test_set_within_a_millimetre() {
    let set = geodesics();
    assert_eq!(set.len(), 100);
    let mut worst_m: f64 = 0.0;
    for g in &set {
        let d = distance_m(g.from, g.to);
        let err = (d - g.s12_m).abs();
        assert!(
            err <= 1e-3,
            "line {}: {d} m, expected {} m",
            g.line,
            g.s12_m
        );
        worst_m = worst_m.max(err);
    }
    eprintln!(
        "GeodTest-100: {} geodesics, worst error {worst_m:.2e} m",
        set.len()
    );
}

/// Cities at many latitudes, the antimeridian and the far south included: (lat, lon).
const CITIES: [(f64, f64); 9] = [
    (48.8566, 2.3522),    // Paris
    (59.3293, 18.0686),   // Stockholm
    (64.1466, -21.9426),  // Reykjavik
    (1.2903, 103.8520),   // Singapore
    (-0.1807, -78.4678),  // Quito
    (-33.8688, 151.2093), // Sydney
    (-54.8019, -68.3030), // Ushuaia
    (-16.5000, 179.9990), // Labasa side of the antimeridian
    (40.7128, -74.0060),  // New York
];

/// A longitude brought back into [-180, 180] across the antimeridian.
fn wrap(lon: f64) -> f64 {
    if lon > 180.0 {
        lon - 360.0
    } else if lon < -180.0 {
        lon + 360.0
    } else {
        lon
    }
}

/// PostGIS is the oracle at the scales the game plays at (GeodTest-100 is mostly continental):
/// `ST_Distance` on geography (the WGS84 spheroid) for 2,000 pairs from 1 m to 100 km apart around
/// cities at many latitudes. Our exact distance agrees within a millimetre, and the flat-earth
/// estimate the lookup trusts without Karney stays within the bound it claims.
#[tokio::test]
async fn city_scale_distances_match_postgis_and_the_flat_estimate_keeps_its_bound() {
    use diesel::sql_types::{Array, Double};
    use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
    #[derive(diesel::QueryableByName)]
    struct D {
        #[diesel(sql_type = Double)]
        d: f64,
    }
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let pairs: Vec<(LatLon, LatLon)> = (0..2000)
        .map(|i| {
            let (lat, lon) = CITIES[i % CITIES.len()];
            let from = LatLon::new(
                lat + 0.05 * (next() - 0.5),
                wrap(lon + 0.05 * (next() - 0.5)),
            );
            let from = from.unwrap();
            // 1 m to 100 km, log-uniform, any bearing.
            let d_m = 10f64.powf(5.0 * next());
            let bearing = std::f64::consts::TAU * next();
            let to_lat = from.lat() + d_m * bearing.cos() / 111_000.0;
            let to_lon =
                from.lon() + d_m * bearing.sin() / (111_000.0 * from.lat().to_radians().cos());
            (from, LatLon::new(to_lat, wrap(to_lon)).unwrap())
        })
        .collect();
    let column = |f: fn(&(LatLon, LatLon)) -> f64| pairs.iter().map(f).collect::<Vec<f64>>();
    let mut conn = AsyncPgConnection::establish(&crate::support::fresh_database().await)
        .await
        .unwrap();
    // x = lon, y = lat: the flip happens here, in the SQL.
    let oracle: Vec<D> = diesel::sql_query(
        "select st_distance(st_setsrid(st_makepoint(lon1, lat1), 4326)::geography, \
                            st_setsrid(st_makepoint(lon2, lat2), 4326)::geography) as d \
         from unnest($1, $2, $3, $4) with ordinality as p(lat1, lon1, lat2, lon2, i) order by i",
    )
    .bind::<Array<Double>, _>(column(|p| p.0.lat()))
    .bind::<Array<Double>, _>(column(|p| p.0.lon()))
    .bind::<Array<Double>, _>(column(|p| p.1.lat()))
    .bind::<Array<Double>, _>(column(|p| p.1.lon()))
    .load(&mut conn)
    .await
    .unwrap();
    assert_eq!(oracle.len(), pairs.len());
    let (mut worst_m, mut flat_checked): (f64, usize) = (0.0, 0);
    for ((from, to), D { d: postgis_m }) in pairs.iter().zip(&oracle) {
        let ours = distance_m(*from, *to);
        assert!(
            (ours - postgis_m).abs() <= 1e-3,
            "{from:?} -> {to:?}: {ours} m, PostGIS {postgis_m} m"
        );
        worst_m = worst_m.max((ours - postgis_m).abs());
        if let Some((estimate_m, bound_m)) = flat_distance_m(*from, *to) {
            flat_checked += 1;
            assert!(
                (estimate_m - postgis_m).abs() <= bound_m,
                "{from:?} -> {to:?}: flat {estimate_m} m +- {bound_m}, PostGIS {postgis_m} m"
            );
        }
    }
    assert!(
        flat_checked > 1500,
        "the flat estimate answered only {flat_checked} pairs"
    );
    eprintln!(
        "PostGIS at city scale: {} pairs, worst error {worst_m:.2e} m",
        pairs.len()
    );
}
