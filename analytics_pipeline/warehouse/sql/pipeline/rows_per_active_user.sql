-- Records per active user for the estimated endpoints, over every day the organisation loaded with dau.
with dau as (
    select date, rows as users from pipeline_partitions where organization = $organization and endpoint = $dau
)

select p.endpoint, sum(p.rows)::double / nullif(sum(dau.users), 0) as ratio
from pipeline_partitions as p
join dau using (date)
where p.organization = $organization and p.endpoint in ($editor_language, $credit_usage)
group by p.endpoint
