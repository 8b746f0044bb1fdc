//! Fresh random ids for the core's typed identifiers (`domain::ids`): the core itself draws no
//! randomness, so that its functions stay deterministic; services draw ids here.

use crate::domain::ids::{CheckinId, ClueId, HuntId, OrgId, PlayerId, StaffId, TargetId, TeamId};

/// An identifier that can be drawn at random (a v4 UUID).
pub trait RandomId: Sized {
    /// A fresh random id.
    fn new_random() -> Self;
}

macro_rules! random_id {
    ($($name:ident),*) => {$(
        impl RandomId for $name {
            fn new_random() -> Self {
                Self(uuid::Uuid::new_v4())
            }
        }
    )*};
}

random_id!(
    OrgId, StaffId, PlayerId, HuntId, TargetId, TeamId, CheckinId, ClueId
);
