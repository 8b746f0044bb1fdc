drop table access_tokens;
drop table players;
drop table staff;
drop table organisations;
