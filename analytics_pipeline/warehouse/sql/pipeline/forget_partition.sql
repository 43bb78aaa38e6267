-- A partition about to be recorded again: its previous record goes (the organisation's only).
delete from pipeline_partitions
where organization = $organization and endpoint = $endpoint and date = $date
