-- Report rollups: 15-minute buckets (aligned to UTC quarter hours, which
-- every time zone's hours and days are made of) rebuilt from the raw events
-- by a node-cron job and on demand. docs/metrics.md defines every figure.

-- Per queue, by the bucket the caller entered the queue in.
create table report_queue_15m (
  queue_id uuid not null,
  bucket timestamptz not null,
  offered integer not null,
  answered integer not null,
  abandoned integer not null,
  short_abandoned integer not null,
  answered_within_sl integer not null,
  -- entries whose wait is known (they left the wait), their sum and maximum
  waits integer not null,
  wait_sum double precision not null,
  wait_max double precision,
  answered_wait_sum double precision not null,
  handled integer not null,
  talk_sum double precision not null,
  wrap_sum double precision not null,
  callbacks integer not null,
  transfers integer not null,
  overflows integer not null,
  primary key (bucket, queue_id)
);

-- Per agent: seconds in each state inside the bucket, and the calls handled
-- (by answer time) and missed (ring no answer, by offer time).
create table report_agent_15m (
  agent_id uuid not null,
  bucket timestamptz not null,
  login_s double precision not null,
  available_s double precision not null,
  ringing_s double precision not null,
  talk_s double precision not null,
  wrap_s double precision not null,
  pause_s double precision not null,
  handled integer not null,
  missed integer not null,
  primary key (bucket, agent_id)
);

create table report_agent_pause_15m (
  agent_id uuid not null,
  bucket timestamptz not null,
  reason text not null,
  seconds double precision not null,
  primary key (bucket, agent_id, reason)
);

-- What has been rolled up: buckets before this are final until a rebuild.
create table report_rollup_state (
  id boolean primary key default true check (id),
  rolled_up_to timestamptz not null,
  updated_at timestamptz not null
);

create index queue_entries_by_entered on queue_entries (entered_at);
create index queue_entries_by_answer on queue_entries (answered_by, answered_at) where answered_by is not null;
create index queue_offers_by_time on queue_offers (offered_at) where result = 'no_answer';
create index agent_state_events_wrap on agent_state_events (agent_id, call_id) where to_state = 'wrap_up';

-- The same sums per local day of the centre (CENTRALITA_TIMEZONE), made from
-- the quarter hours: reports by day, week or month in that time zone read
-- these (a month of 500 agents is 15 000 rows instead of 700 000).
create table report_queue_day (like report_queue_15m);
alter table report_queue_day drop column bucket, add column day date not null, add primary key (day, queue_id);
create table report_agent_day (like report_agent_15m);
alter table report_agent_day drop column bucket, add column day date not null, add primary key (day, agent_id);
create table report_agent_pause_day (like report_agent_pause_15m);
alter table report_agent_pause_day drop column bucket, add column day date not null, add primary key (day, agent_id, reason);
-- the time zone the day tables were made in; a change of CENTRALITA_TIMEZONE makes them stale
alter table report_rollup_state add column day_timezone text;
