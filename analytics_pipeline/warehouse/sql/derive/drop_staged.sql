-- A pass's staged rows and answers: temporary tables live in the writer's memory, under its cap, which the
-- checkpoint as the writer closes needs whole.
drop table if exists derived_user_days;
drop table if exists month_answer;
