-- Asterisk names a channel <epoch seconds>.<counter>, and the counter starts
-- again at 0 when Asterisk restarts: a call that arrives in the same second
-- as one that died with the old process gets the same channel id. With
-- channel_id unique, that new call's row was silently not stored (the insert
-- does nothing on a conflict), and every later record of the call (IVR steps,
-- its end) was refused or lost. A channel id names a call only among the
-- calls in progress; the row's own id is what identifies it.
alter table calls drop constraint calls_channel_id_key;
create index calls_channel_id on calls (channel_id);
