-- API tokens: only a SHA-256 of each token is kept.
create table api_tokens (
  id uuid primary key,
  name text not null,
  role text not null check (role in ('admin', 'supervisor', 'agent')),
  agent_id text,
  token_hash text not null unique,
  created_at timestamptz not null default now(),
  revoked_at timestamptz,
  check (role <> 'agent' or agent_id is not null)
);

-- One row per call that reached centralita, written as the call progresses.
create table calls (
  id uuid primary key,
  channel_id text not null unique,
  direction text not null check (direction in ('inbound', 'internal')),
  caller_number text not null default '',
  caller_name text not null default '',
  did text,
  language text,
  started_at timestamptz not null,
  answered_at timestamptz,
  ended_at timestamptz,
  hangup_cause integer,
  hangup_cause_text text,
  -- why the row was closed: hangup (normal), lost (the channel was gone when
  -- centralita reconnected to Asterisk, e.g. after an Asterisk restart)
  end_reason text check (end_reason in ('hangup', 'lost'))
);
create index calls_in_progress on calls (started_at) where ended_at is null;
create index calls_by_start on calls (started_at desc);

-- What happened during a call (digits pressed, prompts played, ...).
create table call_events (
  id bigserial primary key,
  call_id uuid not null references calls (id),
  type text not null,
  detail jsonb not null default '{}'::jsonb,
  at timestamptz not null
);
create index call_events_by_call on call_events (call_id, at);
