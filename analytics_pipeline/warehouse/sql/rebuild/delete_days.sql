-- The organisation's rows of the days being loaded again (rebuild_partitions), in one table (the table and
-- its day column from warehouse/load.py's constant tables).
delete from {{ table }}
where organization = $organization and {{ day_column }} in (select date from rebuild_partitions)
