-- Team names are unique per hunt on their look-alike key (a case-folded Unicode TS #39 skeleton,
-- computed by the server: domain/name.rs), no longer on lower(name): `Lynx` in Cyrillic letters,
-- full-width `ＬＹＮＸ` or `Lynx` with a zero-width space cannot sit next to `Lynx`.
-- Rows from before have no key yet: the migrator fills them right after this migration, oldest
-- team first (a later look-alike of an older team keeps its name with a key of its own). The
-- check is `not valid` so it holds for every row written from now on without scanning old ones.
alter table teams add column name_key text;
alter table teams add constraint teams_name_key_present check (name_key is not null) not valid;
drop index teams_hunt_name_key;
create unique index teams_hunt_name_key on teams (hunt_id, name_key);
