//! Conversions between our positions and PostGIS values: the one place (with `LatLon::to_point`)
//! where `lat, lon` becomes `x = lon, y = lat`.

use postgis_diesel::types::{GeometryContainer, MultiPolygon, Point, Polygon};

use crate::domain::position::LatLon;
use crate::spatial::geojson::ShapeSpec;
use crate::spatial::polygon::Rings;

/// SRID of WGS84 longitude/latitude.
pub const WGS84: u32 = 4326;

/// A PostGIS point.
pub fn point(p: LatLon) -> Point {
    Point {
        x: p.lon(),
        y: p.lat(),
        srid: Some(WGS84),
    }
}

/// A PostGIS MultiPolygon from GeoJSON-nested polygons.
pub fn multipolygon(polys: &[Rings]) -> MultiPolygon<Point> {
    MultiPolygon {
        polygons: polys
            .iter()
            .map(|rings| Polygon {
                rings: rings
                    .iter()
                    .map(|ring| ring.iter().map(|p| point(*p)).collect())
                    .collect(),
                srid: Some(WGS84),
            })
            .collect(),
        srid: Some(WGS84),
    }
}

fn latlon(p: &Point) -> LatLon {
    LatLon::clamped(p.y, p.x)
}

/// GeoJSON-nested polygons from a PostGIS MultiPolygon.
pub fn rings_of(mp: &MultiPolygon<Point>) -> Vec<Rings> {
    mp.polygons
        .iter()
        .map(|poly| {
            poly.rings
                .iter()
                .map(|r| r.iter().map(latlon).collect())
                .collect()
        })
        .collect()
}

/// A stored target geometry back to its spec; `None` for a geometry we never store.
pub fn shape_spec(geom: &GeometryContainer<Point>, radius_m: Option<f64>) -> Option<ShapeSpec> {
    match (geom, radius_m) {
        (GeometryContainer::Point(p), Some(radius_m)) => Some(ShapeSpec::Circle {
            centre: latlon(p),
            radius_m,
        }),
        (GeometryContainer::MultiPolygon(mp), None) => Some(ShapeSpec::Polygons(rings_of(mp))),
        (GeometryContainer::Polygon(p), None) => Some(ShapeSpec::Polygons(vec![
            p.rings
                .iter()
                .map(|r| r.iter().map(latlon).collect())
                .collect(),
        ])),
        _ => None,
    }
}

/// The PostGIS geometry a target spec is stored as.
pub fn target_geometry(spec: &ShapeSpec) -> GeometryContainer<Point> {
    match spec {
        ShapeSpec::Circle { centre, .. } => GeometryContainer::Point(point(*centre)),
        ShapeSpec::Polygons(polys) => GeometryContainer::MultiPolygon(multipolygon(polys)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgis_points_are_lon_then_lat() {
        let p = point(LatLon::new(48.85, 2.29).unwrap());
        assert_eq!((p.x, p.y), (2.29, 48.85));
        assert_eq!(latlon(&p), LatLon::new(48.85, 2.29).unwrap());
    }
}
