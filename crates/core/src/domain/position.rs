//! Validated positions and distances: a `LatLon` you hold is finite and in range, `Meters` is finite and non-negative.

use thiserror::Error;

/// Why a position or distance was refused.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum InvalidPosition {
    #[error("latitude must be a number in [-90, 90], got {0}")]
    Latitude(f64),
    #[error("longitude must be a number in [-180, 180], got {0}")]
    Longitude(f64),
    #[error("distance must be a finite number of metres >= 0, got {0}")]
    Distance(f64),
}

/// A WGS84 position in degrees. People and JSON say `lat, lon`; geo and PostGIS say `x = lon, y = lat`:
/// the flip happens only in [`LatLon::to_point`] and in `db`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatLon {
    lat: f64,
    lon: f64,
}

impl LatLon {
    /// Parses untrusted input; NaN and infinities fail the range checks.
    pub fn new(lat: f64, lon: f64) -> Result<Self, InvalidPosition> {
        if !(-90.0..=90.0).contains(&lat) {
            return Err(InvalidPosition::Latitude(lat));
        }
        if !(-180.0..=180.0).contains(&lon) {
            return Err(InvalidPosition::Longitude(lon));
        }
        Ok(Self { lat, lon })
    }

    /// For values computed by our own geometry: clamps into range (NaN becomes 0).
    pub fn clamped(lat: f64, lon: f64) -> Self {
        let fix = |v: f64, limit: f64| {
            if v.is_nan() {
                0.0
            } else {
                v.clamp(-limit, limit)
            }
        };
        Self {
            lat: fix(lat, 90.0),
            lon: fix(lon, 180.0),
        }
    }

    /// Latitude in degrees.
    pub fn lat(self) -> f64 {
        self.lat
    }

    /// Longitude in degrees.
    pub fn lon(self) -> f64 {
        self.lon
    }

    /// The geo point: `x = lon`, `y = lat`.
    pub fn to_point(self) -> geo::Point<f64> {
        geo::Point::new(self.lon, self.lat)
    }
}

/// A non-negative, finite distance in metres.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Meters(f64);

impl Meters {
    /// Refuses negative, NaN and infinite values.
    pub fn new(value_m: f64) -> Result<Self, InvalidPosition> {
        if value_m.is_finite() && value_m >= 0.0 {
            Ok(Self(value_m))
        } else {
            Err(InvalidPosition::Distance(value_m))
        }
    }

    /// The value in metres.
    pub fn get(self) -> f64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lat_and_lon_are_not_swapped_on_the_way_to_geo() {
        let paris = LatLon::new(48.8584, 2.2945).unwrap();
        let p = paris.to_point();
        assert_eq!((p.x(), p.y()), (2.2945, 48.8584));
    }

    #[test]
    fn out_of_range_and_non_finite_positions_are_refused() {
        assert!(LatLon::new(90.5, 0.0).is_err());
        assert!(LatLon::new(0.0, -180.1).is_err());
        assert!(LatLon::new(f64::NAN, 0.0).is_err());
        assert!(LatLon::new(0.0, f64::INFINITY).is_err());
        assert!(LatLon::new(-90.0, 180.0).is_ok());
        assert!(Meters::new(-1.0).is_err());
        assert!(Meters::new(f64::NAN).is_err());
    }
}
