-- The wallboard's colours per queue (issue 21): amber and red limits for
-- the service level today (%, lower is worse), the longest wait (s) and the
-- callers waiting; below amber a figure is green. src/queues/store.ts.
alter table queues add column thresholds jsonb not null default
  '{"serviceLevel": {"amber": 80, "red": 60}, "longestWait": {"amber": 60, "red": 180}, "waiting": {"amber": 3, "red": 8}}'::jsonb;
