//! The accuracy policy: when a fix with a given uncertainty counts as being at a target.

use serde::{Deserialize, Serialize};

/// How a fix's `accuracy_m` is used against a target's boundary (per hunt).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccuracyPolicy {
    /// The whole uncertainty disc must be inside: margin >= accuracy.
    Strict,
    /// The reported centre must be inside (boundary included): margin >= 0.
    #[default]
    Centre,
    /// The uncertainty disc must touch the target: margin >= -accuracy.
    Lenient,
}

impl AccuracyPolicy {
    /// Whether a fix with signed margin `margin_m` (metres to the boundary, positive inside,
    /// 0 on the boundary) and uncertainty `accuracy_m` counts as being at the target.
    pub fn admits(self, margin_m: f64, accuracy_m: f64) -> bool {
        margin_m >= self.threshold_m(accuracy_m)
    }

    /// The smallest signed margin (metres) that is admitted for this accuracy.
    pub fn threshold_m(self, accuracy_m: f64) -> f64 {
        match self {
            Self::Strict => accuracy_m,
            Self::Centre => 0.0,
            Self::Lenient => -accuracy_m,
        }
    }

    /// How far (metres) outside a target a fix may be and still be admitted: what the index must grow by.
    pub fn outward_allowance_m(self, accuracy_m: f64) -> f64 {
        (-self.threshold_m(accuracy_m)).max(0.0)
    }

    /// The stable name used in JSON and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Strict => "strict",
            Self::Centre => "centre",
            Self::Lenient => "lenient",
        }
    }

    /// Parses the stable name.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "strict" => Some(Self::Strict),
            "centre" => Some(Self::Centre),
            "lenient" => Some(Self::Lenient),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::AccuracyPolicy::*;

    #[test]
    fn the_boundary_counts_as_inside_for_the_centre_policy() {
        assert!(Centre.admits(0.0, 30.0));
        assert!(!Centre.admits(-0.001, 30.0));
    }

    #[test]
    fn strict_needs_the_whole_disc_inside_and_lenient_only_a_touch() {
        assert!(Strict.admits(30.0, 30.0));
        assert!(!Strict.admits(29.9, 30.0));
        assert!(Lenient.admits(-30.0, 30.0));
        assert!(!Lenient.admits(-30.1, 30.0));
    }

    #[test]
    fn only_lenient_grows_the_search_outward() {
        assert_eq!(Strict.outward_allowance_m(20.0), 0.0);
        assert_eq!(Centre.outward_allowance_m(20.0), 0.0);
        assert_eq!(Lenient.outward_allowance_m(20.0), 20.0);
    }
}
