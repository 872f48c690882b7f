-- A recording whose caller hung up before it could start (the call had
-- ended, or the snoop found no channel) is `skipped`, not `failed`: there
-- was nothing to record. The row's note says why (`caller_gone: …`).
alter table recordings drop constraint recordings_status_check;
alter table recordings add constraint recordings_status_check check (status in ('recording', 'complete', 'missing', 'failed', 'skipped', 'deleted'));
