-- The analysis layer: views and table macros that answer the questions users bring to the warehouse
-- (a summary for a period, a time series, breakdowns, credits, budgets, adoption). Created or replaced
-- by install_analysis() each time a writer connects, one file after another in the order of
-- warehouse/analysis.py's ANALYSIS_FILES; the comments_on_* files document every object.
--
-- Conventions of every macro:
--   * dates are inclusive and may be given as DATE or as 'YYYY-MM-DD' text;
--   * filters organization, user_key, editor and language default to 'all' (NULL means 'all' too:
--     a DuckLake refuses a macro default of NULL, so 'all' is the default; no organisation is named 'all');
--   * a member is (organization, user_key): the same email in two organisations is two members, counts
--     over all organisations add up per organisation, and joins between tables include organization;
--   * only loaded days are read (see analysis_calendar): every number in a row covers the same days,
--     and a day that is not loaded is reported as missing, never as zero activity; over all
--     organisations a day is loaded only when every organisation has it loaded; a day not loaded and
--     older than the API's 2-year lookback is beyond its reach (days_beyond_reach), not missing: it
--     can no longer be fetched, and nothing is lost by it;
--   * inside a macro a bare name that matches a parameter (organization, user_key, editor, language,
--     month, grain) means the parameter, so table columns are always qualified with their table's alias.

-- Which version of this layer is installed (a digest of the schema and every file of the layer):
-- install_analysis() re-creates the layer only when it changed.
create table if not exists analysis_installed (
    digest varchar not null,
    installed_at timestamptz not null
);

-- The metric columns, in the API's order (written from the metric list, warehouse/sql/metrics.py):
-- select columns(metric_names()) from fct_daily_usage.
create or replace macro metric_names() as [
    {{ metric_names }}
];

-- An aggregate: the sum of x over the group; 0 for no rows; NULL when any row's x is NULL (unknown).
create or replace macro known_sum(x) as if(count(x) = count(*), coalesce(sum(x), 0), null)::bigint;

-- The per-user daily endpoints the analysis macros read; a day is loaded when all four are recorded.
create or replace macro analysis_endpoints() as ['credit_usage', 'dau', 'editor_language', 'user_activity'];

-- The API's clock: today's UTC date, or the newest fetch's when that is later (a warehouse read on a
-- machine whose clock is behind the pipeline's says what the pipeline saw).
create or replace macro analysis_api_today() as greatest(
    (now() at time zone 'UTC')::date,
    (select max(p.fetched_at at time zone 'UTC')::date from pipeline_partitions as p)
);

-- The oldest day the API serves (dates.py's lookback_floor): 2 years back, read both as calendar years
-- and as 730 days, the later of the two. A day not loaded before it is beyond the API's reach.
create or replace macro analysis_reach_floor() as (
    select greatest((t.today - interval 2 year)::date, t.today - 730)
    from (select analysis_api_today() as today) as t
);
