-- Supervisor monitoring sessions (silent listen, whisper, barge), kept as an
-- audit: who monitored whom, on which call, in which mode, from when to when.
create table monitor_sessions (
  id uuid primary key,
  -- the supervisor (an agent row with is_supervisor) whose desk phone took part
  supervisor_id uuid not null references agents (id),
  agent_id uuid not null references agents (id),
  -- the call monitored first (a session that follows the agent may see more: see monitor_segments)
  call_id uuid not null,
  extension text not null,
  source text not null check (source in ('api', 'phone')),
  -- the API token that asked (null: the bootstrap admin token, or the phone)
  requested_by_token uuid,
  requested_by_role text not null check (requested_by_role in ('admin', 'supervisor', 'phone')),
  follow boolean not null,
  -- the supervisor's channel, so a restart can end what the old process left
  supervisor_channel_id text,
  status text not null check (status in ('ringing', 'active', 'ended')),
  created_at timestamptz not null,
  answered_at timestamptz,
  ended_at timestamptz,
  end_reason text check (end_reason in ('supervisor_hangup', 'ended_by_api', 'call_ended', 'no_answer', 'busy', 'unreachable', 'failed', 'restart', 'asterisk_lost')),
  ended_by_token uuid
);
create index monitor_sessions_by_time on monitor_sessions (created_at desc);
create index monitor_sessions_open on monitor_sessions (created_at) where ended_at is null;
create index monitor_sessions_by_agent on monitor_sessions (agent_id, created_at desc);

-- Each stretch of one mode on one call: a switch closes one and opens the next.
create table monitor_segments (
  id uuid primary key,
  session_id uuid not null references monitor_sessions (id),
  mode text not null check (mode in ('listen', 'whisper', 'barge')),
  call_id uuid not null,
  -- what started it: the session's start, a switch by API or by the phone's keys, the agent's next call
  source text not null check (source in ('start', 'api', 'phone', 'follow')),
  started_at timestamptz not null,
  ended_at timestamptz
);
create index monitor_segments_by_session on monitor_segments (session_id, started_at);
