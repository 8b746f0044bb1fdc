-- An event's audience (`domain::event::Audience`) in columns: `team_id` (one team), `player_id`
-- (one player), `staff_only` (staff of the hunt's brand); all empty: every player of the hunt.
-- `db::events::visible!` is the SQL of `Audience::admits`; the domain decides, SQL stores.
alter table events
    add column player_id uuid references players (id) on delete cascade,
    add column staff_only boolean not null default false;
