-- The warehouse's tables (schema main). Created if missing each time a writer connects. The metric
-- columns, in the API's order, are written from the metric list (warehouse/sql/metrics.py).
-- No primary keys: DuckDB's ART indexes slow the delete-then-insert loads, and the real API may
-- repeat a key; key uniqueness is checked after each load instead, where it can be reported.
-- organization is the last column of every table and the first part of every key: a warehouse made
-- before it existed gets it last too (warehouse/schema.py), so every warehouse has one column order.

create table if not exists fct_dau_count (
    date date not null,
    user_count bigint,
    organization varchar not null
);

create table if not exists fct_dau_users (
    date date not null,
    user_key varchar not null,
    user_email varchar,
    service_account_name varchar,
    organization varchar not null
);

create table if not exists fct_daily_usage (
    date date not null,
    {{ metric_columns }},
    organization varchar not null
);

create table if not exists fct_user_activity (
    date date not null,
    user_key varchar not null,
    user_email varchar,
    service_account_name varchar,
    {{ metric_columns }},
    organization varchar not null
);

create table if not exists fct_user_activity_monthly (
    month date not null,
    user_key varchar not null,
    user_email varchar,
    service_account_name varchar,
    active_days bigint,
    {{ metric_columns }},
    organization varchar not null
);

create table if not exists fct_editor_language_activity (
    date date not null,
    user_key varchar not null,
    user_email varchar,
    service_account_name varchar,
    language varchar,
    editor varchar,
    {{ metric_columns }},
    organization varchar not null
);

create table if not exists fct_credit_usage (
    date date not null,
    user_key varchar not null,
    user_email varchar,
    service_account_name varchar,
    model_name varchar,
    credits_consumed double,
    organization varchar not null
);

create table if not exists fct_budget_overrides (
    snapshot_date date not null,
    user_key varchar not null,
    user_email varchar,
    service_account_name varchar,
    resource varchar not null,
    period varchar not null,
    limit_value decimal(38, 6),
    fetched_at timestamptz,
    organization varchar not null
);

create table if not exists fct_budget_changes (
    changed_at timestamptz not null,
    run_id varchar not null,
    user_key varchar not null,
    user_email varchar,
    resource varchar not null,
    period varchar not null,
    action varchar not null,
    old_limit decimal(38, 6),
    new_limit decimal(38, 6) not null,
    outcome varchar not null,
    error varchar,
    changed_by varchar,
    organization varchar not null
);

create table if not exists dim_users (
    user_key varchar not null,
    user_email varchar,
    service_account_name varchar,
    is_service_account boolean not null,
    first_active_date date,
    last_active_date date,
    organization varchar not null
);

create table if not exists pipeline_partitions (
    endpoint varchar not null,
    date date not null,
    rows bigint not null,
    requests bigint not null,
    pages bigint not null,
    status varchar not null,
    fetched_at timestamptz not null,
    loaded_at timestamptz not null,
    window_start date,
    window_end date,
    unknown_fields varchar[],
    checked_at timestamptz,
    provisional boolean,
    content_digest varchar,
    source varchar default 'api',
    organization varchar not null
);

-- Warehouses created before these columns existed get them here (NULL for partitions loaded then).
alter table pipeline_partitions add column if not exists checked_at timestamptz;
alter table pipeline_partitions add column if not exists provisional boolean;
alter table pipeline_partitions add column if not exists content_digest varchar;

create table if not exists pipeline_rechecks (
    checked_at timestamptz not null,
    date date not null,
    outcome varchar not null,
    changed_endpoints varchar[] not null,
    missing_endpoints varchar[] not null,
    organization varchar not null
);
