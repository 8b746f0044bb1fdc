drop trigger events_push_enqueue on events;
drop function push_enqueue();
drop table push_outbox;
drop table push_presence;
drop table push_preferences;
drop table push_subscriptions;
drop table vapid_keys;
