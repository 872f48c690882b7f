#!/usr/bin/env bash
# npm run check: the fast tier, with no lab and no Postgres (README, Tests):
# type-check and lint side by side (each is mostly one core's work), then
# test/unit and test/http four files at a time: each file has its own
# in-memory database and fakes on ephemeral ports, and much of a file's
# time is Node and tsx starting or waits on sockets, so four overlap well
# on two cores (measured: 61 s against 85 s two at a time).
set -uo pipefail
cd "$(dirname "$0")/.."

npx tsc --noEmit & typecheck=$!
npx eslint . & lint=$!
# The migrated PGlite the fast tests load (test/support/pglite-template.ts):
# made meanwhile when the migrations changed, not by four test files at once.
node --import tsx --input-type=module -e "await (await (await import('./test/support/pglite-template.ts')).migratedPGlite()).close()" & template=$!
status=0
wait "$typecheck" || status=1
wait "$lint" || status=1
wait "$template" || status=1
[ "$status" -eq 0 ] || exit "$status"

mapfile -t files < <(find test/unit test/http -name '*.test.ts' | sort)
exec node --import tsx --test --test-concurrency=4 "$@" "${files[@]}"
