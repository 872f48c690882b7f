#!/usr/bin/env bash
# npm run check: the fast tier, with no lab and no Postgres (README, Tests):
# type-check, lint, test/unit and test/http, all side by side. The tests run
# as four processes (test/unit/all.ts, test/http/part-1.ts and part-2.ts, and
# the API fuzz, the longest file, alone): on two cores, a process per test file cost more
# in Node, tsx and the app's modules starting than the tests themselves
# (session 11: 433 CPU seconds and 3 min 54 s one file per process, against
# about 140 and a minute and a half this way). Arguments go to node --test
# (scripts/test.sh passes --test-reporter=spec).
set -uo pipefail
cd "$(dirname "$0")/.."

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# tsc and eslint write to files, shown once the tests are over, so their
# lines do not land in the middle of the tests' report.
npx tsc --noEmit > "$out/tsc" 2>&1 & typecheck=$!
npx eslint . > "$out/eslint" 2>&1 & lint=$!
# The migrated PGlite the fast tests load (test/support/pglite-template.ts):
# made once when the migrations changed, before the test processes each make
# their own.
node --import tsx --input-type=module -e "await (await (await import('./test/support/pglite-template.ts')).migratedPGlite()).close()"
status=$?
if [ "$status" -eq 0 ]; then
  node --import tsx --test --test-concurrency=4 "$@" test/http/api-fuzz.test.ts test/http/part-1.ts test/http/part-2.ts test/unit/all.ts
  status=$?
fi
wait "$typecheck" || { echo "check: type-check failed" >&2; status=1; }
wait "$lint" || { echo "check: lint failed" >&2; status=1; }
cat "$out/tsc" "$out/eslint"
exit "$status"
