drop table player_scores;
alter table hunts drop column frozen_at_offset;
alter table hunts drop column announced_phase;
drop table clue_reveals;
drop table clues;
drop table events;
drop sequence events_offset_seq;
