-- Messages left by callers whose queue overflowed to "leave a message".
create table queue_messages (
  id uuid primary key,
  queue_id uuid not null references queues (id),
  call_id uuid not null references calls (id),
  caller_number text not null,
  -- ARI's stored recording name; the file is <recordings dir>/<name>.wav
  recording_name text not null,
  duration_seconds integer,
  created_at timestamptz not null
);
create index queue_messages_by_queue on queue_messages (queue_id, created_at);
