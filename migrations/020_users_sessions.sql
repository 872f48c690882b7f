-- People who sign in to the pages with a name and a password (issue 21).
-- API tokens stay for integrations. An agent user is bound to an agent and
-- may also sign in with that agent's number; a supervisor user is bound to a
-- supervisor agent; an admin to none. The password is kept as an scrypt hash
-- (src/auth/passwords.ts), never as it was typed.
create table users (
  id uuid primary key,
  username text not null check (length(username) between 1 and 64),
  role text not null check (role in ('admin', 'supervisor', 'agent')),
  agent_id uuid references agents (id) on delete cascade,
  password_hash text not null,
  active boolean not null default true,
  created_at timestamptz not null,
  password_changed_at timestamptz not null,
  check ((role = 'admin') = (agent_id is null))
);
create unique index users_by_name on users (lower(username));
create unique index users_by_agent on users (agent_id) where agent_id is not null;

-- A signed-in browser: the cookie carries a secret of which only the hash
-- is kept; the CSRF token is sent back by the pages in a header on every
-- change. A session ends at its absolute expiry, after `idle` without a
-- request, at sign-out, or when an admin (or offboarding) ends it.
create table user_sessions (
  id uuid primary key,
  user_id uuid not null references users (id) on delete cascade,
  secret_hash text not null unique,
  csrf_token text not null,
  created_at timestamptz not null,
  last_seen_at timestamptz not null,
  expires_at timestamptz not null,
  ended_at timestamptz,
  end_reason text,
  address text,
  user_agent text
);
create index user_sessions_open on user_sessions (user_id) where ended_at is null;

-- Failed sign-ins count against the name tried, like a wrong PIN against an
-- agent number (src/security/lockouts.ts, the same rules): a failure row of
-- a sign-in has no phone.
alter table security_login_failures alter column extension drop not null;
alter table security_login_failures add column username text;
alter table security_login_failures add column username_spent_at timestamptz;
alter table security_lockouts drop constraint security_lockouts_kind_check;
alter table security_lockouts add constraint security_lockouts_kind_check check (kind in ('number', 'phone', 'user'));
