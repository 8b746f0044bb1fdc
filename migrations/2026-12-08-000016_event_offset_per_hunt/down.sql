drop index events_hunt_offset_idx;
create index events_hunt_offset_idx on events (hunt_id, event_offset) where event_offset is not null;
alter table events add constraint events_event_offset_key unique (event_offset);
