#!/usr/bin/env bash
# Quick start: installs what is missing, brings up the lab Asterisk and runs
# centralita in the foreground with the sample config (Ctrl-C stops it).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "demo: $*" >&2; }
die() { echo "demo: error: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run it as root (the lab needs chroot and mount): sudo bash scripts/demo.sh"
command -v node >/dev/null || die "Node.js 20 or newer is needed (https://nodejs.org or your distribution)"
major=$(node -p 'process.versions.node.split(".")[0]')
[ "$major" -ge 20 ] || die "Node.js 20 or newer is needed, this is $(node -v)"

[ -d node_modules ] || { say "installing npm packages"; npm ci --no-audit --no-fund >/dev/null; }
bash scripts/lab.sh up

export CENTRALITA_CONFIG=${CENTRALITA_CONFIG:-config/centralita.sample.env}
# The lab: only here is the sample's published admin token accepted (on
# loopback). Not in the sample file, so that a copy of it is no lab.
export CENTRALITA_LAB=${CENTRALITA_LAB:-true}
if command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p 5432; then
  psql -q -h 127.0.0.1 -U postgres -d postgres -tc "select 1 from pg_database where datname = 'centralita'" | grep -q 1 \
    || psql -q -h 127.0.0.1 -U postgres -d postgres -c 'create database centralita'
else
  say "no PostgreSQL on 127.0.0.1:5432: using the embedded database under data/"
  export DATABASE_URL=
fi

say "centralita on http://127.0.0.1:3000 (admin token in $CENTRALITA_CONFIG); call a DID from a SIP phone registered as 1001/lab-1001 on 127.0.0.1:5060"
exec npx tsx src/main.ts
