-- Prompts uploaded for the IVR. The audio is the file <promptsDir>/<name>.wav
-- (8 kHz mono 16-bit PCM, converted at upload), which Asterisk plays as
-- sound:centralita-prompts/<name>; this row describes it.
create table prompts (
  name text primary key check (name ~ '^[a-z0-9][a-z0-9_-]{0,63}$'),
  duration_ms integer not null check (duration_ms > 0),
  -- what was uploaded, e.g. 'PCM 16-bit, 44100 Hz, stereo'
  original_format text not null,
  -- of the converted file on disk
  size_bytes integer not null check (size_bytes > 44),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
