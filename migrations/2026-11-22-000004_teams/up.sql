-- Teams inside a hunt. One team per player per hunt (the primary key of team_members).
create table teams (
    id uuid primary key,
    hunt_id uuid not null references hunts (id) on delete cascade,
    name text not null check (length(name) between 1 and 40),
    invite_code text not null unique,
    captain_id uuid not null references players (id),
    score bigint not null default 0,
    member_count integer not null default 0 check (member_count >= 0),
    created_at timestamptz not null default now()
);
create unique index teams_hunt_name_key on teams (hunt_id, lower(name));

create table team_members (
    hunt_id uuid not null references hunts (id) on delete cascade,
    player_id uuid not null references players (id) on delete cascade,
    team_id uuid not null references teams (id) on delete cascade,
    created_at timestamptz not null default now(),
    primary key (hunt_id, player_id)
);
create index team_members_team_id_idx on team_members (team_id);
