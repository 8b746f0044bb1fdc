alter table hunts drop column checkin_burst, drop column checkin_interval_s;
drop table login_attempts;
