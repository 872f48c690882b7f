-- Report accuracy (issue 18).

-- 1. The service-level threshold in force when the caller entered, kept with
-- the entry (as a recording keeps its retention): a later change of the
-- queue's threshold moves neither raw reports nor rollups of the past.
alter table queue_entries add column service_level_seconds integer;
update queue_entries e set service_level_seconds = q.service_level_seconds from queues q where q.id = e.queue_id;
-- An insert that leaves it out (a journal written before this migration, an
-- import) takes the queue's threshold of that moment.
create function queue_entries_threshold() returns trigger language plpgsql as $$
begin
  select service_level_seconds into new.service_level_seconds from queues where id = new.queue_id;
  return new;
end $$;
create trigger queue_entries_threshold before insert on queue_entries
  for each row when (new.service_level_seconds is null) execute function queue_entries_threshold();
alter table queue_entries alter column service_level_seconds set not null;

-- 2. Callers still waiting under their threshold: not yet a hit nor a miss.
alter table report_queue_15m add column waiting_within_sl integer not null default 0;
alter table report_queue_day add column waiting_within_sl integer not null default 0;

-- 3. What each write changed, for the rollups: every insert or update of the
-- events the reports read records the stretch of time whose figures it
-- changes; the next rebuild (a report read or the periodic job) rebuilds
-- those quarter hours and deletes the rows, in the same transaction. A late
-- event (after a Postgres outage, replayed from the write journal, imported)
-- is counted however old it is.
create table report_dirty (
  id bigserial primary key,
  from_at timestamptz not null,
  to_at timestamptz not null
);

-- A queue entry counts in the quarter it entered (queue figures) and in the
-- quarter it was answered (the agent's answers), before and after an update
-- (an answer undone); its answer also ends the wrap-up of the same agent's
-- earlier entry of the call: every entry of the calls written is recorded.
create function report_dirty_entries() returns trigger language plpgsql as $$
begin
  insert into report_dirty (from_at, to_at)
    select min(least(e.entered_at, e.answered_at)), max(greatest(e.entered_at, e.answered_at))
    from queue_entries e where e.call_id in (select call_id from new_rows) having count(*) > 0;
  if tg_op = 'UPDATE' then
    insert into report_dirty (from_at, to_at)
      select min(least(entered_at, answered_at)), max(greatest(entered_at, answered_at)) from old_rows having count(*) > 0;
  end if;
  return null;
end $$;
create trigger report_dirty_entries_insert after insert on queue_entries
  referencing new table as new_rows for each statement execute function report_dirty_entries();
create trigger report_dirty_entries_update after update on queue_entries
  referencing old table as old_rows new table as new_rows for each statement execute function report_dirty_entries();

-- An offer counts (a ring-no-answer) in the quarter it was made.
create function report_dirty_offers() returns trigger language plpgsql as $$
begin
  insert into report_dirty (from_at, to_at) select min(offered_at), max(offered_at) from new_rows having count(*) > 0;
  if tg_op = 'UPDATE' then
    insert into report_dirty (from_at, to_at) select min(offered_at), max(offered_at) from old_rows having count(*) > 0;
  end if;
  return null;
end $$;
create trigger report_dirty_offers_insert after insert on queue_offers
  referencing new table as new_rows for each statement execute function report_dirty_offers();
create trigger report_dirty_offers_update after update on queue_offers
  referencing old table as old_rows new table as new_rows for each statement execute function report_dirty_offers();

-- A state change at T changes the agent's time from T to their next change
-- (or to now, when it is their latest); a wrap-up it starts or ends changes
-- the wrap-up of the queue entries of that call, counted where they entered.
create function report_dirty_agent_states() returns trigger language plpgsql as $$
begin
  insert into report_dirty (from_at, to_at)
    select min(n.at), max(coalesce(
      (select x.at from agent_state_events x where x.agent_id = n.agent_id and (x.at, x.id) > (n.at, n.id) order by x.at, x.id limit 1),
      greatest(now(), n.at)))
    from new_rows n having count(*) > 0;
  insert into report_dirty (from_at, to_at)
    select min(e.entered_at), max(e.entered_at) from queue_entries e
    where e.call_id in (
      select n.call_id from new_rows n where n.to_state = 'wrap_up' and n.call_id is not null
      union
      select p.call_id from new_rows n cross join lateral (
        select x.call_id, x.to_state from agent_state_events x
        where x.agent_id = n.agent_id and (x.at, x.id) < (n.at, n.id) order by x.at desc, x.id desc limit 1) p
      where p.to_state = 'wrap_up' and p.call_id is not null)
    having count(*) > 0;
  return null;
end $$;
create trigger report_dirty_agent_states after insert on agent_state_events
  referencing new table as new_rows for each statement execute function report_dirty_agent_states();

-- The state at a range's start is each agent's latest change before it, and
-- a change's next one is looked up by time.
create index agent_state_events_by_agent_time on agent_state_events (agent_id, at, id);
create index queue_entries_by_call on queue_entries (call_id);

-- The rollups made before this migration took an arbitrary earlier event as
-- an agent's state at each range's start: all history is rebuilt once, by
-- the first rebuild after it (bench/README.md: a year of 500 agents). The
-- entries of before it took their queue's threshold of now (above).
insert into report_dirty (from_at, to_at)
  select min(at), now() from (select min(at) as at from agent_state_events union all select min(entered_at) from queue_entries) s
  having min(at) is not null;
