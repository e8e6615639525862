#!/usr/bin/env bash
# The fault-injection suite (test/faults/fault-injection.test.ts), run by `npm test` after the rest
# of the suite, alone. It freezes, kills and restarts a database and a server under concurrent
# writes and judges the answers against the clock (a definite answer within 30 s of the database
# coming back, 503s seen while it is frozen); on a 2-core machine a restarted database is
# sometimes not reachable within that window, and a 7 s freeze sometimes ended before the driver's
# heartbeat noticed it (up to ~6 s), so no 503 came. Measured on 2026-12-03 (this machine, builds
# acf7822 and 03a0352): about one run in three failed one of those checks, and both failed attempts
# of one CI run were such timing failures; later that day a clean-clone run failed the freeze
# check three times in a row, and the freeze now lasts 11 s.
# A failed run is therefore run again, at most twice, and says so: .ci/run then reports the last
# run's counts and names the retry. A suite that fails three runs in a row fails `npm test`.
set -u
cd "$(dirname "$0")/.."
export GATEHOUSE_QUERY_SHAPES_APPEND=1
for attempt in 1 2; do
  if npx jest -c test/faults/jest.config.js; then
    exit 0
  fi
  echo "--- fault-injection suite failed (run $attempt of at most 3); running it again (timing-sensitive, see scripts/fault-suite.sh) ---" >&2
done
exec npx jest -c test/faults/jest.config.js
