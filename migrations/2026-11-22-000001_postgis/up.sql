-- PostGIS first: every geography column below needs it.
create extension if not exists postgis;
