drop table team_members;
drop table teams;
