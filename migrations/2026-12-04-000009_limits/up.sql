-- Failed logins per account, counted here so that the limit holds across nodes. Keyed by the
-- SHA-256 of the normalised e-mail: an unknown e-mail is counted exactly like a known one, and the
-- table names no account. An attempt is counted before its password is hashed (so concurrent
-- attempts cannot overrun the limit); a successful login deletes the row.
create table login_attempts (
    email_hash bytea primary key check (length(email_hash) = 32),
    attempts integer not null check (attempts >= 0),
    window_started_at timestamptz not null,
    created_at timestamptz not null default now()
);
create index login_attempts_window_idx on login_attempts (window_started_at);

-- A hunt's check-in rate rule (a game parameter): each player may check in checkin_burst times at
-- once, then once every checkin_interval_s seconds (0: only the server's ceiling applies).
alter table hunts
    add column checkin_interval_s double precision not null default 5
        check (checkin_interval_s >= 0 and checkin_interval_s <= 3600),
    add column checkin_burst integer not null default 5 check (checkin_burst between 1 and 1000);
