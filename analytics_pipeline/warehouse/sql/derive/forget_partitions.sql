-- What pipeline_partitions said of $endpoints on $days, before a derivation records them again.
delete from pipeline_partitions
where
    organization = $organization
    and endpoint in (select unnest($endpoints::varchar[]))
    and date in (select unnest($days::date[]))
