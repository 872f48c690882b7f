-- IVR flows: every save is a new version; calls keep the version they started on.
create table ivr_flows (
  id uuid primary key,
  name text not null unique,
  current_version integer not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table ivr_flow_versions (
  flow_id uuid not null references ivr_flows (id),
  version integer not null,
  document jsonb not null,
  created_at timestamptz not null default now(),
  primary key (flow_id, version)
);

-- Which flow answers each DID.
create table ivr_routes (
  did text primary key check (did ~ '^\+?[0-9]{1,32}$'),
  flow_id uuid not null references ivr_flows (id),
  created_at timestamptz not null default now()
);

-- Every call's path through its flow: node, input, outcome.
create table ivr_traces (
  id bigserial primary key,
  call_id uuid not null references calls (id),
  flow_id uuid not null,
  flow_version integer not null,
  node text not null,
  node_type text not null,
  input text,
  detail jsonb not null default '{}'::jsonb,
  at timestamptz not null
);
create index ivr_traces_by_call on ivr_traces (call_id, id);
create index ivr_traces_by_flow on ivr_traces (flow_id, at);
