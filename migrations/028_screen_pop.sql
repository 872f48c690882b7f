-- A queue's CRM screen pop (issue 24): a URL template the agent's desk page
-- opens (a new tab or an embedded frame) when a call of the queue is
-- offered or answered; placeholders filled from the call (screen-pop.ts).
alter table queues add column screen_pop_url text;
