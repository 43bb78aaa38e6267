-- The organisation's rows of $days in a table a derivation writes (the table from warehouse/derive.py's
-- constants, never input).
delete from {{ table }}
where organization = $organization and date in (select unnest($days::date[]))
