-- The first and the last loaded day.
select min(a.date), max(a.date)
from analysis_days as a
where a.loaded
