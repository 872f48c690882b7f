-- Dialing rights (issue 23): the external numbers an agent may send a caller
-- to (a blind transfer keyed, from the phone's TRANSFER key or the API), as
-- Asterisk-style patterns (_9XXXXXXXX, _00.). None: queues and phones only.
alter table agents add column dialing_rights text[] not null default '{}';
