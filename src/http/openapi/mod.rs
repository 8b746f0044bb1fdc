//! The OpenAPI 3.1 document, built from the handlers' and DTOs' annotations (so it cannot drift
//! from the code), then completed by [`finish`]: the statuses every operation can meet whatever
//! its handler does (`responses`), and the schemas utoipa cannot derive (`schemas`). The tests
//! check every response they receive against the result (`tests/api/support/contract_check.rs`)
//! and an OpenAPI validator checks the document itself (`tests/api/contract.rs`).

pub mod core_types;
pub mod responses;
pub mod schemas;

use serde_json::Value;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "nenufar", description = "Geolocated social-game engine for urban treasure hunts: player and console API.

Every body, query string and WebSocket message is read strictly before anything else: a key given twice in one object, an unknown key (at any depth; GeoJSON documents excepted, where foreign members are ignored), or a string breaking the text rule is 400 `invalid_request` whose `details` name the field as a JSON pointer (`{\"field\": \"/rules/max_accuracy_m\", \"in\": \"body\"}`). The text rule holds for every string and key: no control character (C0, DEL, C1; NUL included), no U+2028 or U+2029, no noncharacter, at most 4,096 characters (keys 256); line breaks and tabs only in multi-line fields (a clue's `text`, a broadcast's `message`, a target's metadata), where CRLF is read as LF. Names players see (team names, target names, hunt titles and cities) are stored in Unicode NFKC with whitespace runs made one space and trimmed; invisible and formatting characters and letters mixing look-alike scripts are refused. Lengths are counted in characters after that normalisation.

Who may call an operation is checked before the request is read: the role names of its `bearer` security requirement (`player`, `owner`, `editor`, `game_master`) are the roles that may call it; anyone else gets 403 `forbidden`. An unknown resource, another organisation's, or a hunt not published yet on a player route is 404 `not_found`. Every operation may answer 429 `rate_limited` and 503 `unavailable`, both with `Retry-After` (seconds). Error bodies are `ErrorBody`; each error response lists the codes it may carry (`x-error-codes`), and `mobile-api/errors.md` explains each code."),
    modifiers(&SecuritySchemes),
    components(schemas(crate::http::error::ErrorBody)),
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
        (name = "push", description = "Web Push subscriptions and preferences (`mobile-api/push.md`)"),
        (name = "live", description = "The WebSocket of live play (`mobile-api/live.md`)"),
        (name = "operations", description = "Health, readiness, metrics and this document"),
    )
)]
pub struct ApiDoc;

/// The security schemes operations refer to: a bearer token, and the same token in the query
/// string for the WebSocket upgrade (browsers cannot set headers on one).
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        // The role names of an operation's `bearer` requirement say who may call it (OpenAPI 3.1
        // allows role names for non-OAuth schemes); anyone else gets 403 before the body is read.
        let bearer = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some(
                "A player token (`nfp_...`) or a staff token (`nfs_...`); the scheme name is \
                 case-insensitive. Each operation's requirement lists the roles that may call it: \
                 `player`, `owner`, `editor`, `game_master`; any other caller gets 403 `forbidden`, \
                 whatever the request holds.",
            ))
            .build();
        components.add_security_scheme("bearer", SecurityScheme::Http(bearer));
        components.add_security_scheme(
            "query_token",
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::with_description(
                "token",
                "The bearer token in the query string, for WebSocket clients that cannot set \
                 headers (browsers); never logged. Only `GET /v1/live` reads it.",
            ))),
        );
    }
}

/// The finished document: the annotations' document, completed with the statuses every
/// operation can meet and the schemas written by hand.
pub fn finish(doc: &utoipa::openapi::OpenApi) -> Value {
    let mut doc = serde_json::to_value(doc).unwrap_or(Value::Null);
    schemas::add(&mut doc);
    responses::complete(&mut doc);
    doc
}
