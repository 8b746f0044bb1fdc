-- Leaderboard snapshots: a node starts a hunt's live feed from the latest snapshot plus the events
-- after it, instead of folding the whole log inside the first request that touches the hunt.
-- Every node folds the same log into the same boards, so a snapshot at an offset is the same
-- whichever node wrote it: a write only ever replaces an older one (see db::snapshots::store).
-- `state` holds the boards, the frozen copy (and its offset) and whether the hunt was archived,
-- in the layout `format` names; a node ignores a format it does not know and folds the log.
create table leaderboard_snapshots (
    hunt_id uuid primary key references hunts (id) on delete cascade,
    through_offset bigint not null check (through_offset > 0),
    format integer not null,
    state jsonb not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
