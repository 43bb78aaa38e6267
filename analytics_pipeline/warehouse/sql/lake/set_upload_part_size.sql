-- The parts a lake connection uploads its Parquet files to S3 in: httpfs holds each part in memory, and
-- its default (the 800GB largest file over 10,000 parts: 76.5 MiB) is more than a lake writer's whole cap,
-- so every load on S3 ran out and ran again with four times the memory (measured). 50GiB over 10,000
-- parts is 5.4 MiB a part, just above S3's 5 MiB least; a lake file holds one load, far below 50 GiB.
set s3_uploader_max_filesize = '50GiB'
