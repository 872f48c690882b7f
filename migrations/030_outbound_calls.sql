-- Outbound calls (issue 25): a call placed for an agent (click-to-call from
-- the API or the desk page, `*` + number from the desk phone; later the
-- callbacks and the campaigns' dialer). The call itself is a `calls` row of
-- direction 'outbound' on the agent's channel; this row says who it was
-- for, what was dialled and how the dial ended.
alter table calls drop constraint calls_direction_check;
alter table calls add constraint calls_direction_check check (direction in ('inbound', 'internal', 'outbound'));

create table outbound_calls (
  -- The calls row's id (no foreign key: the event retention deletes calls).
  call_id uuid primary key,
  agent_id uuid not null,
  queue_id uuid,
  number text not null,
  caller_id text not null,
  origin text not null check (origin in ('api', 'phone', 'callback', 'campaign')),
  started_at timestamptz not null,
  agent_answered_at timestamptz,
  answered_at timestamptz,
  ended_at timestamptz,
  outcome text check (outcome in ('answered', 'busy', 'no_answer', 'congestion', 'invalid', 'failed', 'agent_no_answer', 'cancelled')),
  talk_seconds integer,
  ended_by text check (ended_by in ('agent', 'customer', 'system'))
);
create index outbound_calls_agent on outbound_calls (agent_id, started_at);
create index outbound_calls_started on outbound_calls (started_at);
