-- What pipeline_partitions said of the endpoint's partitions being loaded again.
delete from pipeline_partitions
where
    organization = $organization
    and endpoint = $endpoint
    and date in (select date from rebuild_partitions)
