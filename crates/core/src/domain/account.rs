//! Who is calling: staff (with an organisation and a role) or a player, and what each role may do.

use serde::{Deserialize, Serialize};

use super::ids::{OrgId, PlayerId, StaffId};

/// A staff member's role inside their organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Owner,
    Editor,
    GameMaster,
}

impl Role {
    /// The stable name used in JSON and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Editor => "editor",
            Self::GameMaster => "game_master",
        }
    }

    /// Parses the stable name.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "owner" => Some(Self::Owner),
            "editor" => Some(Self::Editor),
            "game_master" => Some(Self::GameMaster),
            _ => None,
        }
    }

    /// Creating and changing hunts and targets.
    pub fn may_edit_hunts(self) -> bool {
        matches!(self, Self::Owner | Self::Editor)
    }
}

/// An authenticated caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Principal {
    Staff { id: StaffId, org: OrgId, role: Role },
    Player { id: PlayerId },
}
