//! Pure game rules: ids, positions, hunts and phases, accuracy policy, check-in verdicts, finds
//! and scores, events and who sees them, push texts. No IO, no async.

pub mod account;
pub mod checkin;
pub mod clue;
pub mod event;
pub mod find;
pub mod geofence;
pub mod hunt;
pub mod ids;
pub mod leaderboard;
pub mod name;
pub mod position;
pub mod push;
