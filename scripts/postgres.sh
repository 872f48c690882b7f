#!/usr/bin/env bash
# PostgreSQL for the tests on 127.0.0.1:5432, user postgres, trust auth over
# local TCP. Leaves a server that already answers that way alone; otherwise
# installs Debian's `postgresql` (when no server is installed), creates a
# cluster on port 5432 (when there is none), starts it, and puts a trust rule
# for postgres from 127.0.0.1 first in its pg_hba.conf (when a password would
# be asked). Needs root. Run by scripts/test.sh.
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

ready() { command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p "$port"; }
trusted() { psql -w -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -Atc 'select 1' >/dev/null 2>&1; }

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
  if ready && trusted; then return 0; fi
  [ -n "$(server_version)" ] || install_server

  local cluster version name status
  cluster=$(cluster_on_port)
  if [ -z "$cluster" ]; then
    if [ -n "$(pg_lsclusters -h 2>/dev/null)" ]; then
      die "no PostgreSQL cluster on port $port, and the machine has others (pg_lsclusters): create or move one to $port"
    fi
    version=$(server_version)
    say "creating cluster $version/main on port $port"
    pg_createcluster --port "$port" "$version" main >/dev/null
    cluster=$(cluster_on_port)
    [ -n "$cluster" ] || die "pg_createcluster $version main did not give a cluster on port $port"
  fi
  read -r version name status <<<"$cluster"

  if [ "$status" != online ]; then
    say "starting cluster $version/$name"
    pg_ctlcluster --skip-systemctl-redirect "$version" "$name" start
  fi
  wait_ready

  if ! trusted; then
    local hba="$etc_dir/$version/$name/pg_hba.conf"
    [ -f "$hba" ] || die "cannot connect as postgres to 127.0.0.1:$port, and $hba is missing"
    say "trusting postgres from 127.0.0.1 in $hba"
    # First matching rule wins: ours goes before every other rule.
    awk -v rule="$trust_rule" '!done && /^[[:space:]]*[^#[:space:]]/ { print rule; done = 1 } { print } END { if (!done) print rule }' \
      "$hba" >"$hba.centralita" && cat "$hba.centralita" >"$hba" && rm -f "$hba.centralita"
    pg_ctlcluster --skip-systemctl-redirect "$version" "$name" reload
    for _ in $(seq 1 50); do trusted && break; sleep 0.2; done
    trusted || die "still cannot connect as postgres to 127.0.0.1:$port after adding '$trust_rule' to $hba"
  fi
}

ensure
