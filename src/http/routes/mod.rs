//! One file per resource; each exposes `router()` with its handlers and owns its request/response types.

pub mod checkins;
pub mod clues;
pub mod game_master;
pub mod health;
pub mod hunts;
pub mod leaderboard;
pub mod live;
pub mod players;
pub mod push;
pub mod staff;
pub mod targets;
pub mod teams;
