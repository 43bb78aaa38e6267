-- A warehouse file's table made before organisations: every row it holds is the default organisation's
-- (config/organizations.py: DEFAULT_ORGANIZATION, which a test holds this literal to). DuckDB cannot add
-- a NOT NULL column, and a default left behind would let a load that forgets the organisation write it
-- silently: so added with the default, which fills the rows, then the default dropped, then NOT NULL.
alter table {{ table }} add column organization varchar default 'default';
alter table {{ table }} alter column organization drop default;
alter table {{ table }} alter column organization set not null;
