-- The organisations present in the warehouse.
select o.organization
from analysis_organizations() as o
order by o.organization
