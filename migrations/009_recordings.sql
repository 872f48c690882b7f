-- Call recordings: the policy per queue and per DID route, a row per file,
-- and an audit row per playback.
alter table queues drop constraint if exists queues_recording_policy_check;
update queues set recording_policy = case recording_policy when 'all' then 'always' when 'none' then 'never' else recording_policy end;
alter table queues alter column recording_policy set default 'never';
alter table queues add constraint queues_recording_policy_check check (recording_policy in ('always', 'never', 'on_demand'));
-- With `always`, the share of calls recorded (a sample), in percent.
alter table queues add column recording_sample_percent integer not null default 100 check (recording_sample_percent between 1 and 100);
alter table queues add column recording_retention_days integer not null default 365 check (recording_retention_days between 1 and 3650);

-- A DID route may decide for every call that comes in through it (null: the queue decides).
alter table ivr_routes add column recording_policy text check (recording_policy in ('always', 'never', 'on_demand'));

create table recordings (
  id uuid primary key,
  call_id uuid not null references calls (id),
  queue_id uuid references queues (id),
  -- Agents who talked on the recorded call, in order.
  agent_ids uuid[] not null default '{}',
  -- Where Asterisk writes while the call lasts (relative to the recordings dir, without extension).
  asterisk_name text not null unique,
  -- Where the finished file lives (relative to the recordings dir): YYYY/MM/DD/<call-id>.wav
  path text unique,
  format text not null default 'wav',
  status text not null check (status in ('recording', 'complete', 'missing', 'failed', 'deleted')),
  started_at timestamptz not null,
  ended_at timestamptz,
  duration_seconds numeric(10, 3),
  bytes bigint,
  sha256 text,
  -- [{"from": iso, "to": iso}]: paused for card payments; silence in the file.
  pauses jsonb not null default '[]'::jsonb,
  paused_since timestamptz,
  retention_days integer not null,
  deleted_at timestamptz,
  note text
);
create index recordings_by_call on recordings (call_id);
create index recordings_by_time on recordings (started_at);
create index recordings_open on recordings (status) where status = 'recording';

create table recording_audit (
  id bigserial primary key,
  recording_id uuid not null references recordings (id),
  action text not null check (action in ('playback', 'delete')),
  token_id uuid,
  role text not null,
  agent_id uuid,
  detail jsonb not null default '{}'::jsonb,
  at timestamptz not null default now()
);
create index recording_audit_by_recording on recording_audit (recording_id);
