-- Web Push: the node-shared VAPID key, players' push subscriptions and preferences, live presence,
-- the push jobs and the outbox of notifications to send.
--
-- The statements that append events (`db::events::append_many`, the clue reveals in
-- `db::clues`) record every event that may be pushed in `push_jobs`, in the same statement and so
-- the same transaction: a committed event's notification is never lost. Dispatchers on every node then expand each job to the devices of
-- its audience (`push_outbox`, one row per device; see `db::push::expand`) and send those rows,
-- claimed with a lease (`for update skip locked`, committed before any HTTP call); a row is
-- deleted only once its outcome is known. Expanding outside the event's transaction keeps the
-- audience query (teams, members, subscriptions, preferences, presence) off the check-in path:
-- run inside it (a statement trigger), it cost PostgreSQL 130 us per check-in (BENCHMARKS.md,
-- "Web Push").

-- One P-256 key pair for the whole deployment: nodes insert a fresh one if absent, then read.
create table vapid_keys (
    id smallint primary key default 1 check (id = 1),
    private_key bytea not null check (length(private_key) = 32),
    public_key bytea not null check (length(public_key) = 65),
    created_at timestamptz not null default now()
);

-- A browser's PushSubscription. The endpoint is the identity: a device re-subscribing for
-- another player moves with it.
create table push_subscriptions (
    id bigserial primary key,
    endpoint text not null unique,
    player_id uuid not null references players (id) on delete cascade,
    p256dh bytea not null check (length(p256dh) = 65),
    auth bytea not null check (length(auth) = 16),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create index push_subscriptions_player_idx on push_subscriptions (player_id);

create table push_preferences (
    player_id uuid primary key references players (id) on delete cascade,
    -- Categories not pushed: clue, find, rank, phase, broadcast.
    muted text[] not null default '{}',
    -- Push even while a live WebSocket of the player is connected.
    also_when_connected boolean not null default false,
    updated_at timestamptz not null default now()
);

-- Players holding a live WebSocket, per node; each node refreshes its rows every few seconds and
-- a row older than the presence window no longer counts (a node that died stops counting).
create table push_presence (
    player_id uuid not null references players (id) on delete cascade,
    node_id uuid not null,
    seen_at timestamptz not null default now(),
    primary key (player_id, node_id)
);

create table push_outbox (
    id bigserial primary key,
    event_id bigint not null references events (id) on delete cascade,
    subscription_id bigint not null references push_subscriptions (id) on delete cascade,
    category text not null check (category in ('clue', 'find', 'rank', 'phase', 'broadcast')),
    created_at timestamptz not null default now(),
    -- Not sent before (a retry's backoff).
    not_before timestamptz not null default now(),
    -- Claimed by a dispatcher until then; a lease that runs out means the outcome is unknown.
    lease_until timestamptz,
    attempts integer not null default 0
);
create index push_outbox_due_idx on push_outbox (not_before, id);
create index push_outbox_subscription_idx on push_outbox (subscription_id);
create index push_outbox_event_idx on push_outbox (event_id);

-- Events that may be pushed, until a dispatcher expands them to devices.
create table push_jobs (
    event_id bigint primary key references events (id) on delete cascade
);
