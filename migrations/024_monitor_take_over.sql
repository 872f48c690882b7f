-- A supervisor who barged into a queue call takes it over (issue 23): the
-- monitoring session ends as `taken_over` and the supervisor stays with the
-- caller; the agent's leg drops.
alter table monitor_sessions drop constraint monitor_sessions_end_reason_check;
alter table monitor_sessions add constraint monitor_sessions_end_reason_check check (end_reason in
  ('supervisor_hangup', 'ended_by_api', 'call_ended', 'no_answer', 'busy', 'unreachable', 'failed', 'restart', 'asterisk_lost', 'offboarded', 'taken_over'));
