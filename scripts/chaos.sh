#!/usr/bin/env bash
# npm run chaos: the fault tests that kill centralita (SIGKILL) mid-call, on
# the lab Asterisk and a database of their own. npm test ends with it (and
# installs what is missing first).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules ]; then npm ci --no-audit --no-fund >/dev/null; fi
# By default the test database's server and credentials, database centralita_chaos.
test_url=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/centralita_test}
export TEST_DATABASE_URL=${CHAOS_DATABASE_URL:-${test_url%/*}/centralita_chaos}
bash scripts/postgres.sh "$TEST_DATABASE_URL"
bash scripts/lab.sh up
exec node --import tsx --test --test-concurrency=1 --test-reporter=spec test/chaos/*.test.ts
