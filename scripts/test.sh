#!/usr/bin/env bash
# npm test: everything, on this machine's real Postgres and the lab Asterisk.
# Installs what is missing (npm packages, PostgreSQL via postgres.sh, apt
# packages and the lab root via lab.sh), so it runs on a clean clone.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "test: $*" >&2; }

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm packages"
  npm ci --no-audit --no-fund >/dev/null
fi

# An empty test database; installs, creates or starts a local PostgreSQL
# when missing (see the script for what it leaves to you).
export TEST_DATABASE_URL=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/centralita_test}
bash scripts/postgres.sh "$TEST_DATABASE_URL"

bash scripts/lab.sh up

# The pages' end-to-end test drives Debian's Chromium.
if ! command -v chromium >/dev/null; then
  say "installing chromium"
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null
fi

say "type-check, lint and the fast tier"
# npm run check: the same three test processes beside tsc and eslint.
bash scripts/check.sh --test-reporter=spec

# The integration files one after another in one process (test/integration/all.ts):
# they share the lab's Stasis application and phone extensions. A handle
# some test left open must not keep the run from ending (--test-force-exit).
say "integration tests on the lab"
node --import tsx --test --test-force-exit --test-reporter=spec test/integration/all.ts

# The fault tests that kill centralita mid-call, on a database of their own.
# Shorter than `npm run chaos` (20 rounds each, 2 frozen leaders: the figures
# of docs/reliability.md) to keep the whole suite under 20 minutes: one round
# per call phase (ivr, waiting, ringing, talk, monitor) alone and as an HA
# leader; the frozen leader is test/integration/ha.test.ts's (SIGSTOP).
say "chaos: centralita killed mid-call, alone and as an HA leader"
CHAOS_ROUNDS=${CHAOS_ROUNDS:-5} CHAOS_HA_ROUNDS=${CHAOS_HA_ROUNDS:-5} CHAOS_FREEZE_ROUNDS=${CHAOS_FREEZE_ROUNDS:-0} bash scripts/chaos.sh
