-- Callbacks that are dialled (issue 25): a pending request is offered to a
-- free agent of its queue (their phone rings first, then the customer),
-- retried on busy or no answer up to the queue's attempts, spaced by its
-- minutes; an agent may also schedule one (a number, a time, theirs only or
-- anyone's in the queue), which comes from no call.
alter table queue_callbacks drop constraint queue_callbacks_status_check;
alter table queue_callbacks add constraint queue_callbacks_status_check check (status in ('pending', 'in_progress', 'done', 'failed', 'cancelled'));
alter table queue_callbacks alter column call_id drop not null;
alter table queue_callbacks
  add column attempts integer not null default 0,
  add column next_attempt_at timestamptz,
  add column last_attempt_at timestamptz,
  add column last_outcome text,
  add column last_call_id uuid,
  add column agent_id uuid,
  add column scheduled_by uuid;
alter table queues
  add column callback_max_attempts integer not null default 3 check (callback_max_attempts between 1 and 20),
  add column callback_retry_minutes integer not null default 10 check (callback_retry_minutes between 0 and 10080);
-- The dialling's pass (every 2 s) reads the pending ones due.
create index queue_callbacks_due on queue_callbacks (next_attempt_at) where status = 'pending';
