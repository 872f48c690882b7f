-- A segment opened by a new process that adopted a session an earlier one
-- left (after a restart the supervisor is put back on the call in its mode).
alter table monitor_segments drop constraint monitor_segments_source_check;
alter table monitor_segments add constraint monitor_segments_source_check check (source in ('start', 'api', 'phone', 'follow', 'restart'));
