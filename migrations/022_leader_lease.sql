-- The leader lease of an active/standby pair (issue 22, docs/ha.md;
-- src/core/lease.ts). One row: the epoch grows by one at each takeover, the
-- leader bumps `renewals` every quarter of the lease (500 ms by default); a standby takes the lease when it
-- has seen both unchanged for the lease's time (no clocks compared between
-- hosts: renewed_at is for people reading the row). Every batch of event
-- records carries the epoch it was made under and is checked against this
-- row in its transaction (src/core/write-queue.ts): a stale batch changes
-- no state.
create table leader_lease (
  id smallint primary key default 1 check (id = 1),
  epoch bigint not null default 0,
  renewals bigint not null default 0,
  holder text,
  address text,
  renewed_at timestamptz
);
insert into leader_lease default values;
