-- The check-in writer now writes each check-in row once, with its final answer: the rules of a
-- find are settled before the insert, from what the finding teams' locked rows say, so the
-- placeholder claims of 2026-12-04-000012 and their fill are gone (measured at the find-heavy mix
-- of `ops/bench.sh checkin_http`: the fill cost about 54 us of PostgreSQL time per check-in, its
-- triggers 9 us). A row never changes after its insert again, and none is stored without its
-- answer. A node of an earlier version, still writing placeholders, fails its batches of finds
-- against this schema: upgrade every node at once.
drop trigger checkins_claim_filled on checkins;
drop function checkins_claim_filled();
create or replace function checkins_append_only() returns trigger language plpgsql as $$
begin
    raise exception 'checkins are append-only';
end
$$;
alter table checkins add constraint checkins_response_written check (response <> 'null'::jsonb);
