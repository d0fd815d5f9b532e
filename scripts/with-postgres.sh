#!/usr/bin/env bash
# Run a command with a PostgreSQL to test against, named by HALLQ_TEST_PG_URL.
#
# The test suite runs every database test on SQLite and on PostgreSQL (and the
# multi-process tests on PostgreSQL only). Without a server those runs are skipped, so
# this script finds or makes one first:
#   1. HALLQ_TEST_PG_URL already set: use it as it is;
#   2. a PostgreSQL answering on 127.0.0.1:5432: use its database `test` (created if
#      missing, as the `postgres` user when run as root);
#   3. run as root on Debian: install PostgreSQL with apt-get and start it.
# Otherwise it says what to do and stops, rather than letting the suite skip quietly.
#   scripts/with-postgres.sh .venv/bin/python -m pytest -q
set -euo pipefail

if [ -z "${HALLQ_TEST_PG_URL:-}" ]; then
    if [ "$(id -u)" = 0 ]; then
        export DEBIAN_FRONTEND=noninteractive
        if ! command -v pg_ctlcluster >/dev/null 2>&1; then
            echo "with-postgres: installing PostgreSQL"
            apt-get update -qq
            apt-get install -y -qq --no-install-recommends postgresql >/dev/null
        fi
        if ! pg_isready -q -h 127.0.0.1 -p 5432; then
            echo "with-postgres: starting PostgreSQL"
            pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
            for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
        fi
        # The test database and trust access are what a fresh Debian PostgreSQL lacks.
        (cd / && su postgres -c "psql -tAc \"SELECT 1 FROM pg_database WHERE datname='test'\"") \
            | grep -q 1 || (cd / && su postgres -c "createdb test")
        url="postgresql://postgres@127.0.0.1:5432/test"
        if ! psql "$url" -tAc 'SELECT 1' >/dev/null 2>&1; then
            hba=$(cd / && su postgres -c "psql -tAc 'SHOW hba_file'")
            sed -i '1i host all postgres 127.0.0.1/32 trust' "$hba"
            (cd / && su postgres -c "psql -tAc 'SELECT pg_reload_conf()'") >/dev/null
        fi
        export HALLQ_TEST_PG_URL="$url"
    elif command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h 127.0.0.1 -p 5432; then
        export HALLQ_TEST_PG_URL="postgresql://${PGUSER:-postgres}@127.0.0.1:5432/test"
    else
        echo "with-postgres: no PostgreSQL found. Start one on 127.0.0.1:5432 with a database" >&2
        echo "  'test', or set HALLQ_TEST_PG_URL=postgresql://user@host/db, or run as root" >&2
        echo "  on Debian to have it installed." >&2
        exit 2
    fi
fi
echo "with-postgres: testing against ${HALLQ_TEST_PG_URL}"
exec "$@"
