-- The digest of the analysis layer installed in the warehouse (NULL: none is).
select max(i.digest)
from analysis_installed as i
