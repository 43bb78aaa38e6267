-- A load starts by deleting the partition's day from its fact table, for its organisation only (the table
-- and its day column come from warehouse/load.py's constant tables).
delete from {{ table }}
where organization = $organization and {{ day_column }} = $date
