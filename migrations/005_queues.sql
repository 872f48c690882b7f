-- Queues: the ACD's rules, its members, and a row per caller who waited.
create table queues (
  id uuid primary key,
  name text not null unique,
  strategy text not null check (strategy in ('longest_idle', 'round_robin', 'fewest_calls', 'ring_all', 'skills')),
  required_skills jsonb not null default '{}'::jsonb,
  language text,
  ring_timeout_seconds integer not null default 15 check (ring_timeout_seconds between 5 and 120),
  wrap_up_seconds integer not null default 10 check (wrap_up_seconds between 0 and 3600),
  max_wait_seconds integer not null default 600 check (max_wait_seconds between 10 and 86400),
  -- {"action": "hangup", "media": [...]} | {"action": "queue", "queueId": ...}
  overflow jsonb not null default '{"action": "hangup"}'::jsonb,
  service_level_seconds integer not null default 20,
  -- {"everySeconds": 30, "position": true, "estimate": true}
  announcements jsonb not null default '{"everySeconds": 0}'::jsonb,
  music_on_hold text not null default 'default',
  recording_policy text not null default 'none' check (recording_policy in ('none', 'all')),
  created_at timestamptz not null default now()
);

create table queue_members (
  queue_id uuid not null references queues (id) on delete cascade,
  agent_id uuid not null references agents (id),
  penalty integer not null default 0 check (penalty between 0 and 100),
  primary key (queue_id, agent_id)
);

create table queue_entries (
  id uuid primary key,
  call_id uuid not null references calls (id),
  queue_id uuid not null references queues (id),
  priority integer not null,
  entered_at timestamptz not null,
  answered_at timestamptz,
  answered_by uuid references agents (id),
  left_at timestamptz,
  outcome text check (outcome in ('answered', 'abandoned', 'overflow', 'callback', 'transferred')),
  wait_seconds numeric(10, 3)
);
create index queue_entries_open on queue_entries (queue_id) where left_at is null;
create index queue_entries_by_time on queue_entries (queue_id, entered_at);

-- Every time a waiting caller was offered to an agent, and how it went.
create table queue_offers (
  id bigserial primary key,
  entry_id uuid not null references queue_entries (id),
  agent_id uuid not null references agents (id),
  offered_at timestamptz not null,
  ended_at timestamptz,
  result text check (result in ('answered', 'no_answer', 'caller_left', 'lost_race', 'failed'))
);
create index queue_offers_by_entry on queue_offers (entry_id);
