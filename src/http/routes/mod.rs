//! One file per resource; each exposes `router()` with its handlers and owns its request/response types.

pub mod checkins;
pub mod health;
pub mod hunts;
pub mod players;
pub mod staff;
pub mod targets;
pub mod teams;
