-- Link each task row to its procrastinate job (cancel a queued job, reconcile lost ones).
ALTER TABLE tasks ADD COLUMN job_id bigint;
CREATE INDEX tasks_job ON tasks (job_id) WHERE job_id IS NOT NULL;
