//! The OpenAPI schemas of the core's types (`nenufar_core` has no OpenAPI dependency): one
//! schema-only mirror per type that appears on the wire, named as the core type. A DTO field of a
//! core type names its mirror: `#[schema(value_type = core_types::TargetId)]`. The contract tests validate every
//! response a test receives against the document, so a mirror that drifts from its type's serde
//! shape fails there.

// Mirrors only describe; they are never built.
#![allow(dead_code)]

use utoipa::ToSchema;

/// Declares a mirror of a core id type: a UUID string, under the id's name.
macro_rules! id_schema {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(ToSchema)]
        pub struct $name(uuid::Uuid);
    )*};
}

id_schema!(
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
);

/// The answer to a check-in. Explains which rule decided, never where a hidden target is.
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Found,
    AlreadyFound,
    NothingHere,
    TooInaccurate,
    NotLive,
}

/// Why a hunt does not accept check-ins right now.
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NotLiveReason {
    NotPublished,
    Paused,
    NotStarted,
    Ended,
}

/// A staff member's role inside their organisation.
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Owner,
    Editor,
    GameMaster,
}

/// Set by staff.
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HuntStatus {
    Draft,
    Published,
    Paused,
}

/// Derived from the schedule and the server clock.
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Before `teaser_at`: not visible to players yet.
    Upcoming,
    Teaser,
    Live,
    Ended,
    Archived,
}

/// How a fix's `accuracy_m` is used against a target's boundary (per hunt).
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccuracyPolicy {
    /// The whole uncertainty disc must be inside: margin >= accuracy.
    Strict,
    /// The reported centre must be inside (boundary included): margin >= 0.
    Centre,
    /// The uncertainty disc must touch the target: margin >= -accuracy.
    Lenient,
}

/// What a notification is about; players mute categories.
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// The team unlocked a clue.
    Clue,
    /// A teammate found a target.
    Find,
    /// Another team overtook the player's team.
    Rank,
    /// The hunt went live or ended.
    Phase,
    /// A game master's message.
    Broadcast,
}

/// Per-hunt rules. Unknown rules are refused (a misspelt rule must not silently keep its default).
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    /// How `accuracy_m` is used at a boundary.
    #[serde(default)]
    #[schema(default = "centre")]
    pub accuracy_policy: AccuracyPolicy,
    /// Fixes less accurate than this (metres) get `too_inaccurate`. In (0, 1000].
    #[serde(default)]
    #[schema(exclusive_minimum = 0.0, maximum = 1000.0, default = 50.0)]
    pub max_accuracy_m: f64,
    /// Largest team, captain included. In [1, 100].
    #[serde(default)]
    #[schema(minimum = 1, maximum = 100, default = 6)]
    pub team_max_size: i32,
    /// Check-in pace per player: after `checkin_burst` check-ins at once, one every this many
    /// seconds. In [0, 3600]; 0: no pace of the hunt's own (burst included), only the server's
    /// ceiling. The server's ceiling (`NENUFAR_RATE_CHECKINS_PER_PLAYER`) applies too: the
    /// stricter of the two wins.
    #[serde(default)]
    #[schema(minimum = 0.0, maximum = 3600.0, default = 5.0)]
    pub checkin_interval_s: f64,
    /// Check-ins a player may send at once before the pace applies. In [1, 1000].
    #[serde(default)]
    #[schema(minimum = 1, maximum = 1000, default = 5)]
    pub checkin_burst: i32,
}
