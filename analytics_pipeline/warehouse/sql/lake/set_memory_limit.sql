-- A lake writer's cap for the work it was opened for, set once the lake is attached (see warehouse.lake).
set memory_limit = $limit
