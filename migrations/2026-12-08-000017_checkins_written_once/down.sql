alter table checkins drop constraint checkins_response_written;
create or replace function checkins_append_only() returns trigger language plpgsql as $$
begin
    if tg_op = 'UPDATE' and old.response = 'null'::jsonb and new.response <> 'null'::jsonb
       and (new.id, new.hunt_id, new.player_id, new.team_id, new.idempotency_key, new.request_hash,
            new.accuracy_m, new.captured_at, new.received_at, new.created_at)
         = (old.id, old.hunt_id, old.player_id, old.team_id, old.idempotency_key, old.request_hash,
            old.accuracy_m, old.captured_at, old.received_at, old.created_at)
       and st_asbinary(new.fix) = st_asbinary(old.fix) then
        return new;
    end if;
    raise exception 'checkins are append-only';
end
$$;

-- Checked at commit, for placeholder rows only (the `when` clause): none may remain.
create function checkins_claim_filled() returns trigger language plpgsql as $$
begin
    if exists (select 1 from checkins where id = new.id and response = 'null'::jsonb) then
        raise exception 'check-in % would commit without its response', new.id;
    end if;
    return null;
end
$$;
create constraint trigger checkins_claim_filled after insert on checkins
    deferrable initially deferred
    for each row when (new.response = 'null'::jsonb)
    execute function checkins_claim_filled();
