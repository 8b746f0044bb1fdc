-- Hunts and their hidden targets. targets_version changes with every target change, so every node
-- notices a change made through another node before its next verdict.
create table hunts (
    id uuid primary key,
    org_id uuid not null references organisations (id) on delete cascade,
    title text not null check (length(title) between 1 and 200),
    city text not null check (length(city) between 1 and 100),
    area geography(MultiPolygon, 4326) not null,
    teaser_at timestamptz not null,
    live_at timestamptz not null,
    ends_at timestamptz not null,
    archive_at timestamptz,
    status text not null default 'draft' check (status in ('draft', 'published', 'paused')),
    accuracy_policy text not null default 'centre' check (accuracy_policy in ('strict', 'centre', 'lenient')),
    max_accuracy_m double precision not null default 50 check (max_accuracy_m > 0 and max_accuracy_m <= 1000),
    team_max_size integer not null default 6 check (team_max_size between 1 and 100),
    targets_version bigint not null default 0,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create index hunts_org_id_idx on hunts (org_id);
create index hunts_area_gist on hunts using gist (area);

create table targets (
    id uuid primary key,
    hunt_id uuid not null references hunts (id) on delete cascade,
    kind text not null check (kind in ('circle', 'polygon')),
    geom geography(Geometry, 4326) not null,
    radius_m double precision check (radius_m > 0 and radius_m <= 50000),
    name text not null check (length(name) between 1 and 200),
    points integer not null default 1 check (points >= 0),
    prerequisites uuid[] not null default '{}',
    created_at timestamptz not null default now(),
    check ((kind = 'circle') = (radius_m is not null)),
    check ((kind = 'circle' and geometrytype(geom) = 'POINT') or (kind = 'polygon' and geometrytype(geom) = 'MULTIPOLYGON'))
);
create index targets_hunt_id_idx on targets (hunt_id, id);
create index targets_geom_gist on targets using gist (geom);
