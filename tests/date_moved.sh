#!/usr/bin/env bash
# The SQLite half of the suite with the date moved 400 days ahead: no test may
# depend on today's date (tests pin their own clocks, and every time decision
# in the bot, APScheduler's next run included, goes through the injected clock).
#
#   tests/date_moved.sh            # every test but the PostgreSQL ones
#   tests/date_moved.sh -k digest  # extra arguments go to pytest
#
# The wall clock moves with time-machine (tests/conftest.py), not Debian's
# faketime: under libfaketime, Python's timed waits either fail (time.sleep:
# EINVAL) or sleep for the 400 days (lock timeouts), whichever clock it fakes.
set -euo pipefail
cd "$(dirname "$0")/.."
export DIGESTBOT_TEST_DATE_SHIFT_DAYS="${DIGESTBOT_TEST_DATE_SHIFT_DAYS:-400}"
echo "tests/date_moved.sh: the date moved ${DIGESTBOT_TEST_DATE_SHIFT_DAYS} days ahead, to $(date -u -d "+${DIGESTBOT_TEST_DATE_SHIFT_DAYS} days" +%F)"
exec .venv/bin/pytest -q -p no:cacheprovider -m "not postgresql" "$@"
