-- The phone PIN lockout (*45 check-in and the *22/*23/*24 monitoring codes
-- ask for an agent number and PIN). Rows are written through the write queue;
-- the lockout's memory is rebuilt from them at start-up, so a restart keeps
-- every lock and every failure still counted. src/security/lockouts.ts has
-- the rules.

-- Each wrong number+PIN: the phone it came from and the number keyed (never
-- the PIN). A failure counts for the number and for the phone until it leaves
-- the window or is spent (*_spent_at) by a lock, a right PIN, or an admin
-- clearing the lock.
create table security_login_failures (
  id uuid primary key,
  at timestamptz not null,
  extension text not null,
  -- null: no number keyed
  number text,
  number_spent_at timestamptz,
  phone_spent_at timestamptz
);
create index security_login_failures_by_time on security_login_failures (at);

-- Each lock: an agent number (from any phone) or a phone (any numbers),
-- from the failure that locked it until `until`, unless an admin clears it.
create table security_lockouts (
  id uuid primary key,
  kind text not null check (kind in ('number', 'phone')),
  subject text not null,
  failures integer not null,
  locked_at timestamptz not null,
  until timestamptz not null,
  cleared_at timestamptz,
  -- the token that cleared it (null with cleared_at: the bootstrap admin token)
  cleared_by_token uuid,
  cleared_by_role text
);
create index security_lockouts_in_force on security_lockouts (until) where cleared_at is null;
