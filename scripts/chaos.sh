#!/usr/bin/env bash
# npm run chaos: the fault tests that kill centralita (SIGKILL) mid-call, on
# the lab Asterisk and a database of their own. npm test ends with it (and
# installs what is missing first).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules ]; then npm ci --no-audit --no-fund >/dev/null; fi
bash scripts/postgres.sh
export TEST_DATABASE_URL=${CHAOS_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/centralita_chaos}
db=${TEST_DATABASE_URL##*/}
psql -q -h 127.0.0.1 -U postgres -d postgres -c "drop database if exists \"$db\" with (force)" -c "create database \"$db\"" 2>/dev/null
bash scripts/lab.sh up
exec node --import tsx --test --test-concurrency=1 --test-reporter=spec test/chaos/*.test.ts
