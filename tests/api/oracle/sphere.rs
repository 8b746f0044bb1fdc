//! Vectors on the unit sphere, to place fixes near edges and vertices and to bound targets by caps.

use nenufar::domain::position::LatLon;

/// Mean Earth radius, only to place fixes near edges; no verdict depends on it.
const PLACE_R_M: f64 = 6_371_008.8;

pub(super) type V3 = [f64; 3];

pub(super) fn p(lat: f64, lon: f64) -> LatLon {
    LatLon::new(lat, lon).unwrap()
}

pub(super) fn v3(at: LatLon) -> V3 {
    let (lat, lon) = (at.lat().to_radians(), at.lon().to_radians());
    [lat.cos() * lon.cos(), lat.cos() * lon.sin(), lat.sin()]
}

pub(super) fn to_latlon(v: V3) -> LatLon {
    let lat = v[2].atan2(v[0].hypot(v[1])).to_degrees();
    let lon = v[1].atan2(v[0]).to_degrees();
    p(lat.clamp(-90.0, 90.0), lon.clamp(-180.0, 180.0))
}

pub(super) fn cross(a: V3, b: V3) -> V3 {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

pub(super) fn norm(v: V3) -> V3 {
    let n = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
    [v[0] / n, v[1] / n, v[2] / n]
}

pub(super) fn combine(a: V3, wa: f64, b: V3, wb: f64) -> V3 {
    [
        a[0] * wa + b[0] * wb,
        a[1] * wa + b[1] * wb,
        a[2] * wa + b[2] * wb,
    ]
}

/// `from` moved by `distance_m` along the great circle towards the unit tangent `dir`.
pub(super) fn moved(from: V3, dir: V3, distance_m: f64) -> LatLon {
    let theta = distance_m / PLACE_R_M;
    to_latlon(norm(combine(from, theta.cos(), dir, theta.sin())))
}

pub(super) fn lon_wrapped(lon: f64) -> f64 {
    if lon > 180.0 {
        lon - 360.0
    } else if lon < -180.0 {
        lon + 360.0
    } else {
        lon
    }
}

pub(super) fn angle(a: V3, b: V3) -> f64 {
    let c = cross(a, b);
    (c[0] * c[0] + c[1] * c[1] + c[2] * c[2])
        .sqrt()
        .atan2(a[0] * b[0] + a[1] * b[1] + a[2] * b[2])
}
