#!/usr/bin/env bash
# The fault-injection suite (test/faults/fault-injection.test.ts), run by `npm test` after the rest
# of the suite, alone. It freezes, kills and restarts a database and a server under concurrent
# writes and judges the answers against the clock (a definite answer within 30 s of the database
# coming back, 503s seen while it is frozen); on a 2-core machine a restarted database is
# sometimes not reachable within that window. A failed run is therefore run once more, and says
# so: .ci/run then reports the second run's counts and names the retry.
set -u
cd "$(dirname "$0")/.."
export GATEHOUSE_QUERY_SHAPES_APPEND=1
if npx jest -c test/faults/jest.config.js; then
  exit 0
fi
echo "--- fault-injection suite failed once; running it again (timing-sensitive, see scripts/fault-suite.sh) ---" >&2
exec npx jest -c test/faults/jest.config.js
