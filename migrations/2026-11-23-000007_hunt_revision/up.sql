-- A hunt's revision grows with every update of its row (status, schedule, rules, targets_version,
-- freeze, announced phase). Each node keeps a hunt's gate (status, schedule, rules, index version)
-- in memory and judges check-ins against it; the check-in writer locks the hunt rows it writes for
-- (for share) and compares their revision with the one each verdict was judged against, so a
-- verdict never commits against a hunt that changed meanwhile, whichever node changed it.
alter table hunts add column revision bigint not null default 0;

create function hunts_bump_revision() returns trigger language plpgsql as $$
begin
    new.revision := old.revision + 1;
    return new;
end
$$;
create trigger hunts_bump_revision before update on hunts
    for each row execute function hunts_bump_revision();
