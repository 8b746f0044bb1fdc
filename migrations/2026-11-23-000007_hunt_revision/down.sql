drop trigger hunts_bump_revision on hunts;
drop function hunts_bump_revision();
alter table hunts drop column revision;
