-- The analysis layer just installed, by its digest: the only row.
delete from analysis_installed;

insert into analysis_installed values ($digest, now())
