//! The OpenAPI 3.1 document, built from the handlers' annotations (so it cannot drift from the code).

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "nenufar", description = "Geolocated social-game engine for urban treasure hunts: player and console API."),
    modifiers(&BearerAuth),
    tags(
        (name = "staff", description = "Brand staff accounts"),
        (name = "players", description = "Player accounts"),
        (name = "hunts", description = "Hunts"),
        (name = "targets", description = "Hidden targets (staff only)"),
        (name = "teams", description = "Teams"),
        (name = "checkins", description = "Check-ins"),
        (name = "clues", description = "Clues"),
        (name = "leaderboard", description = "Leaderboards"),
        (name = "game master", description = "Live hunt control"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        // The role names of an operation's `bearer` requirement say who may call it (OpenAPI 3.1
        // allows role names for non-OAuth schemes); anyone else gets 403 before the body is read.
        let bearer = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some(
                "A player token (`nfp_...`) or a staff token (`nfs_...`). Each operation's requirement \
                 lists the roles that may call it: `player`, `owner`, `editor`, `game_master`; \
                 any other caller gets 403 `forbidden`, whatever the request holds.",
            ))
            .build();
        components.add_security_scheme("bearer", SecurityScheme::Http(bearer));
    }
}
