drop table finds;
drop trigger checkins_append_only on checkins;
drop table checkins;
drop function checkins_append_only();
