-- A load starts by deleting the partition's day from its fact table (the table and its day column come
-- from warehouse/load.py's constant tables).
delete from {{ table }}
where {{ day_column }} = $date
