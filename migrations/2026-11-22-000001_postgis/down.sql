drop extension if exists postgis;
