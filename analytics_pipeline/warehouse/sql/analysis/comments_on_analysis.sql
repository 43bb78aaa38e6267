-- Documentation inside the warehouse, part 2: COMMENT ON every view of the analysis layer, so that
-- duckdb_views() explains them (their columns: comments_on_view_columns.sql; the macros:
-- comments_on_macros.sql).

comment on view analysis_days is 'Which days the analysis macros can read. A day is loaded when pipeline_partitions holds the four per-user daily endpoints the macros read (dau, user_activity, editor_language, credit_usage), with status ''loaded'' or ''empty''. Days not listed, or listed with loaded = false, are missing: the macros report them as missing, never as zero activity. Grain: date.';
comment on view user_adoption is 'Per member: first and last active day, activity over the last 7 and 28 loaded days, and an adoption status. Windows count loaded days (analysis_days), newest first, so a missing day never counts as inactivity. status: ''new'' = first active day within the last 7 loaded days; ''active'' = active on at least one of the last 7 loaded days (and not new); ''idle'' = not active in the last 7 loaded days but active in the last 28; ''dormant'' = not active in the last 28 loaded days. Active = in fct_dau_users. Grain: user_key.';
comment on view analysis_macros is 'The analysis table macros and helpers: name, how to call them, what they return and an example. Start here: select macro_name, signature from analysis_macros.';
comment on view analysis_glossary is 'Definitions of every column the analysis macros return (rates, coverage, activity, credits, budgets, and the API''s metrics): select * from analysis_glossary where term like ''%rate%''.';
