-- Event retention vs the report rollups (issue 19 review).
-- The moment up to which the event retention (src/retention/events.ts) has
-- deleted raw events: the rollups of the quarters up to it are the only
-- record left of them, so no rebuild (by hand, a dirty stretch, a quarter
-- still changing) touches them, and `source=raw` reports refuse ranges that
-- start there (docs/metrics.md, "Rollups"). Each batch of the purge moves it
-- forward in its own transaction. One row, made here, so that a rebuild can
-- lock it (for share) against a purge committing in between; null: nothing
-- was ever purged.
create table report_events_purged (
  id boolean primary key default true check (id),
  purged_before timestamptz,
  updated_at timestamptz not null default now()
);
insert into report_events_purged (id) values (true);
