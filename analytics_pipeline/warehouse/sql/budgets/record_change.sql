-- One change budgets apply sent, with its outcome (the audit trail).
insert into fct_budget_changes by name
select
    $changed_at::timestamptz as changed_at,
    $run_id as run_id,
    user_key($user_email, null) as user_key,  -- overrides are for people only
    $user_email as user_email,
    $resource as resource,
    $period as period,
    $action as action,
    $old_limit::decimal(38, 6) as old_limit,
    $new_limit::decimal(38, 6) as new_limit,
    $outcome as outcome,
    $error as error,
    $changed_by as changed_by,
    $organization as organization
