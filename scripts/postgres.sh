#!/usr/bin/env bash
# Usage: postgres.sh [URL]
# Makes the tests' database answer, empty: URL (default TEST_DATABASE_URL,
# then postgres://postgres@127.0.0.1:5432/centralita_test) is dropped and
# created again through its server's `postgres` database, with the URL's own
# user and password. Run by scripts/test.sh and scripts/chaos.sh.
#
# When the URL does not connect and points at 127.0.0.1:5432, it installs
# Debian's `postgresql` (when no server is installed), creates a cluster on
# port 5432 (when there is none) and starts it. It trusts postgres from
# 127.0.0.1 (a rule first in pg_hba.conf) only in a cluster it made itself:
# an existing cluster that asks a password is left as it is and the script
# stops saying what to do (a URL with credentials, or the rule added by
# hand). Needs root for what it installs, creates or starts.
#
# CENTRALITA_PG_LIB_DIR and CENTRALITA_PG_ETC_DIR are for its test only
# (test/unit/postgres-script.test.ts runs it against fake commands).
set -euo pipefail

lib_dir=${CENTRALITA_PG_LIB_DIR:-/usr/lib/postgresql}
etc_dir=${CENTRALITA_PG_ETC_DIR:-/etc/postgresql}
port=5432
trust_rule="host all postgres 127.0.0.1/32 trust"

say() { echo "postgres: $*" >&2; }
die() { echo "postgres: error: $*" >&2; exit 1; }

url=${1:-${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:$port/centralita_test}}
base=${url%%\?*}
query=${url:${#base}}
[[ $base =~ ^postgres(ql)?://[^/]*/[^/]+$ ]] || die "not a postgres://…/database URL: $url"
db=${base##*/}
# The server's own database: the one to drop and create the tests' from.
admin="${base%/*}/postgres$query"
# The URL as messages show it: without its password.
shown=$(sed -E 's#^([a-z]+://[^:@/]*):[^@/]*@#\1:***@#' <<<"$url")

ready() { command -v pg_isready >/dev/null && pg_isready -q -d "$admin"; }
connects() { psql -w -X -q -d "$admin" -Atc 'select 1' >/dev/null 2>&1; }
# This machine's 127.0.0.1:5432, the only server the script may install or start.
local_server() { [[ $base =~ ^postgres(ql)?://([^@/]*@)?(127\.0\.0\.1|localhost)(:$port)?/ ]]; }

wait_ready() {
  for _ in $(seq 1 100); do ready && return 0; sleep 0.2; done
  die "PostgreSQL did not answer on 127.0.0.1:$port within 20 s"
}

# Newest server version installed (a directory with bin/postgres), or nothing.
server_version() {
  local dir best=""
  for dir in "$lib_dir"/*/; do
    [ -x "${dir}bin/postgres" ] || continue
    dir=${dir%/}; dir=${dir##*/}
    [[ $dir =~ ^[0-9]+$ ]] || continue
    if [ -z "$best" ] || [ "$dir" -gt "$best" ]; then best=$dir; fi
  done
  echo "$best"
}

install_server() {
  say "no PostgreSQL server installed: installing Debian's postgresql"
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null
  [ -n "$(server_version)" ] || die "apt-get installed postgresql but no server is in $lib_dir"
}

# "version name status" of the cluster on our port, from pg_lsclusters.
cluster_on_port() {
  pg_lsclusters -h 2>/dev/null | awk -v p="$port" '$3 == p { print $1, $2, $4; exit }'
}

ensure() {
  if connects; then return 0; fi
  local_server || die "cannot connect to $shown: $(psql -w -X -q -d "$admin" -Atc 'select 1' 2>&1 >/dev/null | head -n 1)"

  # Whether the cluster on our port is one this run made: only then may its
  # pg_hba.conf be opened.
  local ours="" cluster version name status
  if [ -z "$(server_version)" ]; then
    # Debian's postinst creates a main cluster on 5432 when there is none.
    [ -n "$(pg_lsclusters -h 2>/dev/null || true)" ] || ours=1
    install_server
  fi
  cluster=$(cluster_on_port)
  if [ -z "$cluster" ]; then
    if [ -n "$(pg_lsclusters -h 2>/dev/null)" ]; then
      die "no PostgreSQL cluster on port $port, and the machine has others (pg_lsclusters): create or move one to $port"
    fi
    version=$(server_version)
    say "creating cluster $version/main on port $port"
    pg_createcluster --port "$port" "$version" main >/dev/null
    ours=1
    cluster=$(cluster_on_port)
    [ -n "$cluster" ] || die "pg_createcluster $version main did not give a cluster on port $port"
  fi
  read -r version name status <<<"$cluster"

  if [ "$status" != online ]; then
    say "starting cluster $version/$name"
    pg_ctlcluster --skip-systemctl-redirect "$version" "$name" start
  fi
  wait_ready
  if connects; then return 0; fi

  local hba="$etc_dir/$version/$name/pg_hba.conf"
  if [ -z "$ours" ]; then
    die "cannot connect to $shown: $(psql -w -X -q -d "$admin" -Atc 'select 1' 2>&1 >/dev/null | head -n 1)
  Cluster $version/$name on port $port was there before: its pg_hba.conf is not changed here.
  Either set TEST_DATABASE_URL to a URL with the credentials of a role that may create
  databases, e.g. postgres://postgres:PASSWORD@127.0.0.1:$port/centralita_test,
  or trust postgres from 127.0.0.1 yourself (any local user of the machine then connects
  as postgres without a password): put the line
    $trust_rule
  before the other rules of $hba and run
    pg_ctlcluster $version $name reload"
  fi

  [ -f "$hba" ] || die "cannot connect to $shown, and $hba is missing"
  say "trusting postgres from 127.0.0.1 in $hba (a cluster made by this script)"
  # First matching rule wins: ours goes before every other rule.
  awk -v rule="$trust_rule" '!done && /^[[:space:]]*[^#[:space:]]/ { print rule; done = 1 } { print } END { if (!done) print rule }' \
    "$hba" >"$hba.centralita" && cat "$hba.centralita" >"$hba" && rm -f "$hba.centralita"
  pg_ctlcluster --skip-systemctl-redirect "$version" "$name" reload
  for _ in $(seq 1 50); do connects && return 0; sleep 0.2; done
  die "still cannot connect to $shown after adding '$trust_rule' to $hba"
}

ensure
PGOPTIONS="-c client_min_messages=warning" psql -w -X -q -d "$admin" -c "drop database if exists \"$db\" with (force)" -c "create database \"$db\"" \
  || die "cannot drop and create database $db through $shown"
