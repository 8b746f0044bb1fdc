-- Web Push: the node-shared VAPID key, players' push subscriptions and preferences, live presence,
-- and the outbox of notifications to send.
--
-- Notifications are written to the outbox by a statement trigger on `events`, so every change
-- that appends events (a check-in batch, a clue reveal, a broadcast, a phase change) writes its
-- notifications in the same transaction and in one statement, whatever code path appended them.
-- Dispatchers on every node claim rows with a lease (`for update skip locked`, committed before
-- any HTTP call); a row is deleted only once its outcome is known.

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

-- Who is told what:
--   target_found  -> `find`, the finder's teammates (not the finder);
--   clue_revealed -> `clue`, the team;
--   broadcast     -> `broadcast`, the team or every player of the hunt;
--   phase_changed -> `phase`, every player, when the hunt goes live or ends;
--   score_changed -> `rank`, the members of every team it overtook: a positive delta that took
--                    the team from below or level with another to strictly above it (not while
--                    the leaderboard is frozen: the scores are secret then).
-- Never to a muted category, nor to a player with a live WebSocket on any node (seen within the
-- presence window) unless they asked for both.
create function push_enqueue() returns trigger language plpgsql as $$
begin
    insert into push_outbox (event_id, subscription_id, category)
    select n.event_id, s.id, n.category
    from (
        select e.id as event_id, e.hunt_id, 'find' as category, e.team_id as team,
               (e.data ->> 'player_id')::uuid as skip
        from new_events e where e.kind = 'target_found'
        union all
        select e.id, e.hunt_id, 'clue', e.team_id, null from new_events e
        where e.kind = 'clue_revealed'
        union all
        select e.id, e.hunt_id, 'broadcast', e.team_id, null from new_events e
        where e.kind = 'broadcast'
        union all
        select e.id, e.hunt_id, 'phase', null, null from new_events e
        where e.kind = 'phase_changed' and e.data ->> 'phase' in ('live', 'ended')
        union all
        select e.id, e.hunt_id, 'rank', t.id, null
        from new_events e
        join hunts h on h.id = e.hunt_id and h.frozen_at_offset is null
        join teams t on t.hunt_id = e.hunt_id
        where e.kind = 'score_changed'
          and (e.data ->> 'delta')::bigint > 0
          and t.id <> (e.data ->> 'team_id')::uuid
          and t.score >= (e.data ->> 'score')::bigint - (e.data ->> 'delta')::bigint
          and t.score < (e.data ->> 'score')::bigint
    ) n
    join team_members m on m.hunt_id = n.hunt_id and (n.team is null or m.team_id = n.team)
    join push_subscriptions s on s.player_id = m.player_id
    left join push_preferences p on p.player_id = m.player_id
    where (n.skip is null or m.player_id <> n.skip)
      and not (n.category = any (coalesce(p.muted, '{}')))
      and (coalesce(p.also_when_connected, false) or not exists (
          select 1 from push_presence pr
          where pr.player_id = m.player_id and pr.seen_at > now() - interval '45 seconds'));
    return null;
end
$$;
create trigger events_push_enqueue after insert on events
    referencing new table as new_events
    for each statement execute function push_enqueue();
