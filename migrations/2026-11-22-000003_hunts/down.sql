drop table targets;
drop table hunts;
