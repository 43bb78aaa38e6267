-- The table set aside once its rows are copied (set_aside_for_organization.sql).
drop table {{ old_table }}
