-- Keys a waiting caller may press: leave a callback request, or go to the overflow.
alter table queues add column callback_key text check (callback_key ~ '^[0-9*#]$');
alter table queues add column overflow_key text check (overflow_key ~ '^[0-9*#]$');
alter table queues add check (callback_key is null or overflow_key is null or callback_key <> overflow_key);

-- Callback requests left by waiting callers; the outbound work comes later.
create table queue_callbacks (
  id uuid primary key,
  queue_id uuid not null references queues (id),
  call_id uuid not null references calls (id),
  caller_number text not null,
  requested_at timestamptz not null,
  status text not null default 'pending' check (status in ('pending', 'done', 'cancelled'))
);
create index queue_callbacks_pending on queue_callbacks (queue_id, requested_at) where status = 'pending';
