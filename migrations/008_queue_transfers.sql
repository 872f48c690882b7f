-- The short number agents key (## number #) to blind-transfer a caller to a queue.
alter table queues add column extension text unique check (extension ~ '^[0-9]{2,8}$');

-- Where an answered queue call went when its agent transferred it. The next
-- part is another queue entry of the same call (a queue) or the call's own
-- events (an extension).
alter table queue_entries add column transferred_by uuid references agents (id);
alter table queue_entries add column transferred_to jsonb;
