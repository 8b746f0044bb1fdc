//! Typed identifiers: a `HuntId` can never be passed where a `TeamId` is expected. The core
//! draws no randomness: fresh ids come from `nenufar::ids::RandomId`.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta] $name:ident),* $(,)?) => {$(
        #[$doc]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    )*};
}

id_type!(
    /// An organisation (a brand, the tenant).
    OrgId,
    /// A staff account of an organisation.
    StaffId,
    /// A player account.
    PlayerId,
    /// A hunt.
    HuntId,
    /// A hidden target of a hunt.
    TargetId,
    /// A team inside a hunt.
    TeamId,
    /// A check-in.
    CheckinId,
    /// A clue of a hunt.
    ClueId,
);
