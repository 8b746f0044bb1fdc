//! Diesel table definitions, kept in step with `migrations/` (checked by the migration test).

diesel::table! {
    use diesel::sql_types::*;

    organisations (id) {
        id -> Uuid,
        name -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;

    staff (id) {
        id -> Uuid,
        org_id -> Uuid,
        email -> Text,
        password_hash -> Text,
        role -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;

    players (id) {
        id -> Uuid,
        handle -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;

    access_tokens (token_hash) {
        token_hash -> Bytea,
        staff_id -> Nullable<Uuid>,
        player_id -> Nullable<Uuid>,
        expires_at -> Timestamptz,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use postgis_diesel::sql_types::Geography;

    hunts (id) {
        id -> Uuid,
        org_id -> Uuid,
        title -> Text,
        city -> Text,
        area -> Geography,
        teaser_at -> Timestamptz,
        live_at -> Timestamptz,
        ends_at -> Timestamptz,
        archive_at -> Nullable<Timestamptz>,
        status -> Text,
        accuracy_policy -> Text,
        max_accuracy_m -> Float8,
        team_max_size -> Int4,
        targets_version -> Int8,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        checkin_interval_s -> Float8,
        checkin_burst -> Int4,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use postgis_diesel::sql_types::Geography;

    targets (id) {
        id -> Uuid,
        hunt_id -> Uuid,
        kind -> Text,
        geom -> Geography,
        radius_m -> Nullable<Float8>,
        name -> Text,
        points -> Int4,
        prerequisites -> Array<Uuid>,
        created_at -> Timestamptz,
        metadata -> Jsonb,
    }
}

diesel::table! {
    use diesel::sql_types::*;

    teams (id) {
        id -> Uuid,
        hunt_id -> Uuid,
        name -> Text,
        invite_code -> Text,
        captain_id -> Uuid,
        score -> Int8,
        member_count -> Int4,
        created_at -> Timestamptz,
        name_key -> Nullable<Text>,
    }
}

diesel::table! {
    use diesel::sql_types::*;

    team_members (hunt_id, player_id) {
        hunt_id -> Uuid,
        player_id -> Uuid,
        team_id -> Uuid,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use postgis_diesel::sql_types::Geography;

    checkins (id) {
        id -> Uuid,
        hunt_id -> Uuid,
        player_id -> Uuid,
        team_id -> Uuid,
        idempotency_key -> Uuid,
        request_hash -> Bytea,
        fix -> Geography,
        accuracy_m -> Float8,
        captured_at -> Timestamptz,
        received_at -> Timestamptz,
        verdict -> Text,
        response -> Jsonb,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;

    finds (team_id, target_id) {
        team_id -> Uuid,
        target_id -> Uuid,
        hunt_id -> Uuid,
        player_id -> Uuid,
        checkin_id -> Uuid,
        points -> Int4,
        found_at -> Timestamptz,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;

    login_attempts (email_hash) {
        email_hash -> Bytea,
        attempts -> Int4,
        window_started_at -> Timestamptz,
        created_at -> Timestamptz,
    }
}

diesel::joinable!(staff -> organisations (org_id));
diesel::joinable!(access_tokens -> staff (staff_id));
diesel::joinable!(hunts -> organisations (org_id));
diesel::joinable!(targets -> hunts (hunt_id));
diesel::joinable!(teams -> hunts (hunt_id));
diesel::joinable!(team_members -> teams (team_id));

diesel::allow_tables_to_appear_in_same_query!(
    organisations,
    staff,
    players,
    access_tokens,
    hunts,
    targets,
    teams,
    team_members,
    checkins,
    finds,
    login_attempts,
);
