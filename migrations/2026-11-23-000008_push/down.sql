drop table push_jobs;
drop table push_outbox;
drop table push_presence;
drop table push_preferences;
drop table push_subscriptions;
drop table vapid_keys;
