-- Live play: the per-hunt event log, clues and their reveals, phase announcements, pause, freeze.
--
-- Events are appended with `seq` null in the transaction of the change they describe. A sequencer
-- (one at a time, under an advisory lock) numbers committed events with `event_offset` from a
-- global sequence, in batches, and only then are they delivered: every batch's offsets exceed every
-- earlier batch's, so a later commit never slips in behind an offset a client has passed.
create table events (
    id bigserial primary key,
    hunt_id uuid not null references hunts (id) on delete cascade,
    event_offset bigint unique,
    kind text not null,
    -- null: every player of the hunt; else only this team.
    team_id uuid references teams (id) on delete cascade,
    data jsonb not null,
    created_at timestamptz not null default now()
);
create sequence events_offset_seq as bigint;
create index events_unnumbered_idx on events (id) where event_offset is null;
create index events_hunt_offset_idx on events (hunt_id, event_offset) where event_offset is not null;

create table clues (
    id uuid primary key,
    hunt_id uuid not null references hunts (id) on delete cascade,
    text text not null check (length(text) between 1 and 2000),
    media_url text check (media_url is null or media_url ~ '^https?://'),
    reveal_at timestamptz,
    after_target uuid references targets (id) on delete cascade,
    cost integer check (cost is null or cost > 0),
    created_at timestamptz not null default now(),
    check (num_nonnulls(reveal_at, after_target, cost) = 1)
);
create index clues_hunt_idx on clues (hunt_id);
create index clues_reveal_at_idx on clues (reveal_at) where reveal_at is not null;
create index clues_after_target_idx on clues (after_target) where after_target is not null;

-- A clue is revealed to a team exactly once: the primary key is the arbiter.
create table clue_reveals (
    team_id uuid not null references teams (id) on delete cascade,
    clue_id uuid not null references clues (id) on delete cascade,
    hunt_id uuid not null references hunts (id) on delete cascade,
    revealed_at timestamptz not null,
    created_at timestamptz not null default now(),
    primary key (team_id, clue_id)
);

-- The last phase announced with a phase_changed event; the phase job moves it exactly once.
alter table hunts add column announced_phase text;
-- While frozen, players see the leaderboard as of this event offset.
alter table hunts add column frozen_at_offset bigint;

-- Player scores for the player leaderboard (the team's score is teams.score).
create table player_scores (
    hunt_id uuid not null references hunts (id) on delete cascade,
    player_id uuid not null references players (id) on delete cascade,
    score bigint not null default 0,
    created_at timestamptz not null default now(),
    primary key (hunt_id, player_id)
);
