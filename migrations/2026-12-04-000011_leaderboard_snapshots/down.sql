drop table leaderboard_snapshots;
