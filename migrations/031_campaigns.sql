-- Outbound campaigns (issue 25, docs/campaigns.md): the campaigns, their
-- contact lists imported from CSV, each contact's progress, every dial
-- attempt (written by the dialer through the write queue) and the
-- do-not-call lists, global and per campaign. 030 belongs to the dialer.

create table campaigns (
  id uuid primary key,
  name text not null unique,
  -- The agents who take its calls, and the wrap-up codes its dispositions name.
  queue_id uuid not null references queues (id),
  caller_id text not null,
  mode text not null check (mode in ('preview', 'progressive', 'predictive')),
  state text not null default 'draft' check (state in ('draft', 'running', 'paused', 'finished')),
  -- {"mon": ["09:00-14:00", "16:00-21:00"], ...}: windows in the contact's
  -- own time zone; a day not named is not called.
  hours jsonb not null,
  -- ISO 3166 country for numbers written without +, and the zone of numbers
  -- whose zone cannot be told (rules.ts, timezoneOf).
  default_region text not null,
  default_timezone text not null,
  -- {"action": "hangup" | "message" | "agent", "messagePrompt"?: name}
  amd jsonb not null,
  abandon_cap_percent numeric(5, 2) not null default 3 check (abandon_cap_percent between 0 and 100),
  abandon_prompt text,
  max_ratio numeric(4, 2) not null default 2 check (max_ratio between 1 and 10),
  -- {"busy" | "no_answer" | "machine" | "abandoned" | "failed": {"maxAttempts", "delayMinutes"}}
  retry jsonb not null,
  -- A queue wrap-up code → {"action": "done" | "retry" | "callback" | "dnc", ...}
  disposition_actions jsonb not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

-- One per CSV file imported: stored whole or not at all.
create table campaign_lists (
  id uuid primary key,
  campaign_id uuid not null references campaigns (id) on delete cascade,
  name text not null,
  imported_at timestamptz not null,
  imported_by text,
  contacts integer not null,
  -- Imported on a do-not-call list: stored with state dnc, never called.
  dnc_contacts integer not null,
  -- The contacts' time zones: the claim asks which of them are in hours now.
  timezones jsonb not null,
  unique (campaign_id, name)
);

create table campaign_contacts (
  id uuid primary key,
  campaign_id uuid not null references campaigns (id) on delete cascade,
  list_id uuid not null references campaign_lists (id) on delete cascade,
  -- The line of its file (a duplicate is reported against it).
  line integer not null,
  number_e164 text not null,
  raw_number text not null,
  name text,
  timezone text not null,
  -- The file's other columns: shown on the agent's desk.
  fields jsonb not null default '{}',
  state text not null default 'pending'
    check (state in ('pending', 'in_progress', 'retry', 'callback', 'done', 'dnc', 'failed')),
  attempts integer not null default 0,
  -- When it may be called next (pending: from its import).
  next_attempt_at timestamptz,
  last_outcome text,
  last_attempt_at timestamptz,
  callback_agent_id uuid,
  -- While in_progress: when the dialer took it and the state it goes back to if not dialled.
  claimed_at timestamptz,
  claimed_from text,
  unique (campaign_id, number_e164)
);
-- The dialer's claim: the due contacts of one campaign, in order.
create index campaign_contacts_due on campaign_contacts (campaign_id, next_attempt_at)
  where state in ('pending', 'retry', 'callback');
create index campaign_contacts_by_list on campaign_contacts (list_id, state);
create index campaign_contacts_by_number on campaign_contacts (number_e164);

-- Every dial of a contact, as the dialer makes it (write queue).
create table campaign_attempts (
  id uuid primary key,
  campaign_id uuid not null references campaigns (id) on delete cascade,
  contact_id uuid not null references campaign_contacts (id) on delete cascade,
  -- The call's record, once it has one (the calls' own rows are written apart).
  call_id uuid,
  number_e164 text not null,
  started_at timestamptz not null,
  answered_at timestamptz,
  ended_at timestamptz,
  outcome text check (outcome in ('answered', 'busy', 'no_answer', 'machine', 'abandoned', 'failed')),
  agent_id uuid,
  disposition text
);
create index campaign_attempts_by_contact on campaign_attempts (contact_id, started_at);
create index campaign_attempts_by_campaign on campaign_attempts (campaign_id, started_at);

-- Do-not-call: campaign_id null is the global list. NULLS NOT DISTINCT
-- (Postgres 15) makes one global row per number, and lets an insert say
-- "on conflict (campaign_id, number_e164) do nothing" (a disposition's
-- mark through the write queue, replayable).
create table dnc_numbers (
  id uuid primary key,
  number_e164 text not null,
  campaign_id uuid references campaigns (id) on delete cascade,
  reason text,
  source text not null check (source in ('api', 'import', 'disposition')),
  added_by text,
  added_at timestamptz not null,
  unique nulls not distinct (campaign_id, number_e164)
);
create index dnc_numbers_by_number on dnc_numbers (number_e164);
