-- A target's GeoJSON properties beyond name, points, radius_m and prerequisites: the brand's own
-- metadata, kept as imported, shown to staff and in exports, never to players. The server bounds
-- it to 4 KiB of compact JSON; the check is a backstop (jsonb's text form is a little longer).
alter table targets add column metadata jsonb not null default '{}'::jsonb
    check (jsonb_typeof(metadata) = 'object' and octet_length(metadata::text) <= 16384);
