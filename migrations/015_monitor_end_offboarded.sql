-- A session ended because its supervisor lost access (deleted, deactivated
-- or no longer a supervisor): offboarding stops them listening at once.
alter table monitor_sessions drop constraint monitor_sessions_end_reason_check;
alter table monitor_sessions add constraint monitor_sessions_end_reason_check check (end_reason in ('supervisor_hangup', 'ended_by_api', 'call_ended', 'no_answer', 'busy', 'unreachable', 'failed', 'restart', 'asterisk_lost', 'offboarded'));
