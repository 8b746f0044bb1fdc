-- Tenants, their staff, players, and bearer tokens (stored as SHA-256 hashes, never in clear).
create table organisations (
    id uuid primary key,
    name text not null check (length(name) between 1 and 200),
    created_at timestamptz not null default now()
);

create table staff (
    id uuid primary key,
    org_id uuid not null references organisations (id) on delete cascade,
    email text not null check (length(email) between 3 and 320),
    password_hash text not null,
    role text not null check (role in ('owner', 'editor', 'game_master')),
    created_at timestamptz not null default now()
);
create unique index staff_email_key on staff (lower(email));
create index staff_org_id_idx on staff (org_id);

create table players (
    id uuid primary key,
    handle text not null check (handle ~ '^[A-Za-z0-9_.-]{1,32}$'),
    created_at timestamptz not null default now()
);
create unique index players_handle_key on players (lower(handle));

create table access_tokens (
    token_hash bytea primary key,
    staff_id uuid references staff (id) on delete cascade,
    player_id uuid references players (id) on delete cascade,
    expires_at timestamptz not null,
    created_at timestamptz not null default now(),
    check ((staff_id is null) <> (player_id is null))
);
create index access_tokens_expires_at_idx on access_tokens (expires_at);
