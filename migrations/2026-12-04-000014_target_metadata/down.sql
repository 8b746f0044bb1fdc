alter table targets drop column metadata;
