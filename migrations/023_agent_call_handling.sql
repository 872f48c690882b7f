-- The agent's call (issue 23): hold, dispositions, forced agent states,
-- auto-pause after N missed offers.

-- Hold: per queue entry (one agent's handling of the call), the number of
-- holds, their seconds, and the start of the hold going on now (null when
-- not on hold). Talk time in the reports excludes hold (docs/metrics.md).
alter table queue_entries
  add column hold_count integer not null default 0,
  add column hold_seconds double precision not null default 0,
  add column hold_started_at timestamptz,
  -- the wrap-up code the agent set (`none` when a required one was not set in time)
  add column disposition text,
  add column disposition_note text,
  add column disposition_at timestamptz;

-- Per queue: its wrap-up codes [{code, label, requiresNote?, outcome?}],
-- whether one is required (wrap-up lasts until it is set, up to
-- disposition_max_seconds), and how many offers in a row an agent may miss
-- before being paused (rona).
alter table queues
  add column dispositions jsonb not null default '[]'::jsonb,
  add column disposition_required boolean not null default false,
  add column disposition_max_seconds integer not null default 120,
  add column rona_after_misses integer not null default 1;

-- A state forced by a supervisor: who (a token's or user's name) and why.
alter table agent_state_events
  add column forced_by text,
  add column forced_why text;

-- Hold in the rollups (quarter hours and days): hold seconds and holds of
-- the entries answered in the bucket.
alter table report_queue_15m add column hold_sum double precision not null default 0, add column holds integer not null default 0;
alter table report_queue_day add column hold_sum double precision not null default 0, add column holds integer not null default 0;
alter table report_agent_15m add column hold_s double precision not null default 0, add column holds integer not null default 0;
alter table report_agent_day add column hold_s double precision not null default 0, add column holds integer not null default 0;

-- A forced change has its own source.
alter table agent_state_events drop constraint agent_state_events_source_check;
alter table agent_state_events add constraint agent_state_events_source_check check (source in ('phone', 'api', 'system', 'supervisor'));
