-- A lake writer's cap for the work it was opened for, raised once the lake is attached (warehouse.lake).
set memory_limit = $limit
