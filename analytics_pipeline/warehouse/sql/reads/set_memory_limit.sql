-- A connection's memory cap, set once it is open (warehouse.connection: a file writer's; warehouse.lake:
-- a lake writer's, raised once the lake is attached).
set memory_limit = $limit
