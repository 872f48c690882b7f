-- A leg centralita places for a call (issue 23: an agent consulting a
-- colleague, the colleague of a phone's attended transfer) is a call of its
-- own: its row names the call it serves and the number it called.
alter table calls add column parent_call_id uuid references calls(id) on delete set null;
alter table calls add column called_number text;
create index calls_parent_call_id on calls (parent_call_id) where parent_call_id is not null;
