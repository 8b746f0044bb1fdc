//! The OpenAPI 3.1 document, built from the handlers' annotations (so it cannot drift from the code).

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
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
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}
