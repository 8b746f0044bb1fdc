-- Check-ins are append-only: a trigger refuses updates and deletes. The stored response is what a
-- replay of the same idempotency key returns. Finds are unique per team and target: counted once.
create table checkins (
    id uuid primary key,
    hunt_id uuid not null references hunts (id),
    player_id uuid not null references players (id),
    team_id uuid not null references teams (id),
    idempotency_key uuid not null,
    request_hash bytea not null,
    fix geography(Point, 4326) not null,
    accuracy_m double precision not null check (accuracy_m > 0),
    captured_at timestamptz not null,
    received_at timestamptz not null,
    verdict text not null check (verdict in ('found', 'already_found', 'nothing_here', 'too_inaccurate', 'not_live')),
    response jsonb not null,
    created_at timestamptz not null default now(),
    unique (player_id, idempotency_key)
);
create index checkins_hunt_received_idx on checkins (hunt_id, received_at);
create index checkins_fix_gist on checkins using gist (fix);

create function checkins_append_only() returns trigger language plpgsql as $$
begin
    raise exception 'checkins are append-only';
end
$$;
create trigger checkins_append_only before update or delete on checkins
    for each row execute function checkins_append_only();

create table finds (
    team_id uuid not null references teams (id),
    target_id uuid not null references targets (id),
    hunt_id uuid not null references hunts (id),
    player_id uuid not null references players (id),
    checkin_id uuid not null,
    points integer not null,
    found_at timestamptz not null,
    created_at timestamptz not null default now(),
    primary key (team_id, target_id)
);
create index finds_hunt_id_idx on finds (hunt_id);
