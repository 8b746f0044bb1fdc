alter table events drop column player_id, drop column staff_only;
