-- A partition about to be recorded again: its previous record goes.
delete from pipeline_partitions
where endpoint = $endpoint and date = $date
