drop index teams_hunt_name_key;
alter table teams drop constraint teams_name_key_present;
alter table teams drop column name_key;
create unique index teams_hunt_name_key on teams (hunt_id, lower(name));
