-- Post-call surveys (issue 24, docs/surveys.md): survey documents,
-- versioned like IVR flows; which queues and DID routes offer one and how;
-- the responses with each answer stored as it is keyed; the callers'
-- recorded comments as recordings of their own kind; and the rollups the
-- survey reports read.

create table surveys (
  id uuid primary key,
  name text not null unique,
  current_version integer not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table survey_versions (
  survey_id uuid not null references surveys (id),
  version integer not null,
  document jsonb not null,
  created_at timestamptz not null default now(),
  primary key (survey_id, version)
);

-- {"surveyId": uuid, "mode": "always" | "opt_in", "samplePercent": 0-100}, or null: no survey.
alter table queues add column survey jsonb;
-- The same for every call through the route; when set it decides (else the queue's).
alter table ivr_routes add column survey jsonb;

-- One per survey offered to a caller (the survey began to play).
create table survey_responses (
  id uuid primary key,
  survey_id uuid not null references surveys (id),
  survey_version integer not null,
  call_id uuid not null references calls (id),
  -- The caller's channel while the survey plays: a restart takes it up from here.
  channel_id text not null,
  entry_id uuid,
  queue_id uuid,
  agent_id uuid,
  mode text not null check (mode in ('always', 'opt_in')),
  language text not null,
  offered_at timestamptz not null,
  -- Every question was put to the caller (answered or not) and the thank-you played.
  completed_at timestamptz,
  comment_recording_id uuid,
  foreign key (survey_id, survey_version) references survey_versions (survey_id, version)
);
create index survey_responses_by_time on survey_responses (offered_at);
create index survey_responses_by_call on survey_responses (call_id);
create index survey_responses_open on survey_responses (channel_id) where completed_at is null;

-- Each answer as the caller keyed it. `measure`: the answer CSAT (the
-- survey's first 1-5 question) or NPS (its first 0-10 question) is read from.
create table survey_answers (
  response_id uuid not null references survey_responses (id),
  position integer not null check (position between 1 and 5),
  question text not null,
  scale text not null check (scale in ('1-5', '0-10', 'yes_no')),
  measure text check (measure in ('csat', 'nps')),
  value integer not null,
  answered_at timestamptz not null,
  primary key (response_id, position)
);

-- A survey comment is a recording (the same integrity, retention, playback
-- and audit as a call's), told apart by its kind.
alter table recordings add column kind text not null default 'call' check (kind in ('call', 'survey_comment'));

-- Rollups by quarter hour of the offer (reports/rollup.ts): the responses,
-- and each question's answers.
create table report_survey_15m (
  survey_id uuid not null,
  queue_id uuid,
  agent_id uuid,
  bucket timestamptz not null,
  offered integer not null,
  completed integer not null,
  answered integer not null,
  csat_answers integer not null,
  csat_positive integer not null,
  nps_answers integer not null,
  promoters integer not null,
  detractors integer not null,
  comments integer not null
);
create index report_survey_15m_by_bucket on report_survey_15m (bucket);

create table report_survey_question_15m (
  survey_id uuid not null,
  queue_id uuid,
  agent_id uuid,
  bucket timestamptz not null,
  position integer not null,
  question text not null,
  scale text not null,
  answers integer not null,
  value_sum bigint not null
);
create index report_survey_question_15m_by_bucket on report_survey_question_15m (bucket);

-- Writes mark the quarters of the offers they touch (migration 016).
create function report_dirty_surveys() returns trigger language plpgsql as $$
begin
  insert into report_dirty (from_at, to_at)
    select min(r.offered_at), max(r.offered_at) from survey_responses r
    where r.id in (select id from new_rows) having count(*) > 0;
  return null;
end $$;
create trigger report_dirty_survey_responses_insert after insert on survey_responses
  referencing new table as new_rows for each statement execute function report_dirty_surveys();
create trigger report_dirty_survey_responses_update after update on survey_responses
  referencing new table as new_rows for each statement execute function report_dirty_surveys();

create function report_dirty_survey_answers() returns trigger language plpgsql as $$
begin
  insert into report_dirty (from_at, to_at)
    select min(r.offered_at), max(r.offered_at) from survey_responses r
    where r.id in (select response_id from new_rows) having count(*) > 0;
  return null;
end $$;
create trigger report_dirty_survey_answers_insert after insert on survey_answers
  referencing new table as new_rows for each statement execute function report_dirty_survey_answers();
create trigger report_dirty_survey_answers_update after update on survey_answers
  referencing new table as new_rows for each statement execute function report_dirty_survey_answers();
