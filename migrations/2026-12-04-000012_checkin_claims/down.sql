drop trigger checkins_claim_filled on checkins;
drop function checkins_claim_filled();
create or replace function checkins_append_only() returns trigger language plpgsql as $$
begin
    raise exception 'checkins are append-only';
end
$$;
