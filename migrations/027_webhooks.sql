-- Webhooks (issue 24): subscriptions, and an outbox of deliveries written
-- through the write queue (and its journal) as each event happens; a worker
-- delivers each subscription's rows in `seq` order.
create table webhooks (
  id uuid primary key,
  url text not null,
  events text[] not null,
  -- the HMAC-SHA256 key of the signatures; never shown again after creation
  secret text not null,
  description text not null default '',
  enabled boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table webhook_deliveries (
  -- the order deliveries are made in, per subscription
  seq bigserial primary key,
  -- made in process: a record replayed from the journal is not stored twice
  id uuid not null unique,
  webhook_id uuid not null references webhooks(id) on delete cascade,
  event_id uuid not null,
  event_type text not null,
  occurred_at timestamptz not null,
  body text not null,
  status text not null default 'pending' check (status in ('pending', 'delivered', 'dead')),
  attempts integer not null default 0,
  next_attempt_at timestamptz not null default now(),
  last_status integer,
  last_error text,
  delivered_at timestamptz,
  latency_ms integer,
  -- a delivery made again by POST /webhooks/:id/replay
  replay boolean not null default false,
  created_at timestamptz not null default now()
);
create index webhook_deliveries_pending on webhook_deliveries (webhook_id, seq) where status = 'pending';
create index webhook_deliveries_log on webhook_deliveries (webhook_id, occurred_at);
