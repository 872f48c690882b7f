-- Agents: deactivated, never deleted, once they have history.
create table agents (
  id uuid primary key,
  -- what an agent keys in on a desk phone to check in
  number text not null check (number ~ '^[0-9]{1,10}$'),
  name text not null,
  -- PJSIP endpoint of the agent's own desk phone; phones bound to an agent
  -- check in without asking for the number and PIN
  extension text,
  pin_hash text not null,
  team text,
  skills jsonb not null default '{}'::jsonb,
  is_supervisor boolean not null default false,
  active boolean not null default true,
  created_at timestamptz not null default now(),
  deactivated_at timestamptz
);
create unique index agents_active_number on agents (number) where active;
create unique index agents_active_extension on agents (extension) where active and extension is not null;

create table pause_reasons (
  name text primary key,
  -- the digit(s) keyed after *47; system reasons have none
  code text unique check (code ~ '^[0-9]{1,2}$'),
  label text not null,
  productive boolean not null default false,
  system boolean not null default false,
  check (system = (code is null))
);
insert into pause_reasons (name, code, label, productive, system) values
  ('break', '1', 'Descanso', false, false),
  ('lunch', '2', 'Comida', false, false),
  ('training', '3', 'Formación', true, false),
  ('back_office', '4', 'Back-office', true, false),
  ('rona', null, 'Sin respuesta (RONA)', false, true),
  ('unreachable', null, 'Teléfono no disponible', false, true);

-- Every state change of every agent, append-only. Each row holds the whole
-- state after the change, so the current state is the agent's last row.
create table agent_state_events (
  id bigserial primary key,
  agent_id uuid not null references agents (id),
  from_state text not null,
  from_reason text,
  to_state text not null check (to_state in ('logged_out', 'available', 'ringing', 'on_call', 'wrap_up', 'paused')),
  to_reason text,
  -- a pause asked for during a call, applied when the call and wrap-up end
  pending_pause text,
  -- where an agent whose phone became unreachable goes back to
  resume_state text,
  resume_reason text,
  extension text,
  wrap_up_ends_at timestamptz,
  call_id uuid,
  source text not null check (source in ('phone', 'api', 'system')),
  at timestamptz not null
);
create index agent_state_events_by_agent on agent_state_events (agent_id, id);
create index agent_state_events_by_time on agent_state_events (at);
