//! Pure geometry: target shapes on the WGS84 ellipsoid, the per-hunt R-tree, GeoJSON parsing. No IO.
//!
//! Frames: positions are geodetic `LatLon`; the index and the polygon tests work on the unit sphere
//! (geodetic latitude used as spherical latitude, exactly as PostGIS `geography` does), and every
//! distance that decides a verdict is an ellipsoidal (Karney) distance in metres.

pub mod frame;
pub mod geodesic;
pub mod geojson;
pub mod index;
pub mod overlap;
pub mod planar;
pub mod polygon;
pub mod shape;
pub mod sphere;
pub mod validity;
