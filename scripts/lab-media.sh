#!/usr/bin/env bash
# The scale-out lab (issue 26, docs/scale-out.md): Asterisk media servers
# behind Kamailio, beside the default lab (which must be up: its chroot and
# mounts are shared). Called by `lab.sh up --media N`; tests use kill/start.
#   lab-media.sh up N        media servers media-2 … media-(N+1) on 127.0.0.2 …, and Kamailio
#   lab-media.sh down        stop them all and Kamailio
#   lab-media.sh kill NAME   SIGKILL one media server (a box lost)
#   lab-media.sh start NAME  start it again
#   lab-media.sh status
# Media server media-K: SIP udp 127.0.0.K:5060, ARI http://127.0.0.K:8088/ari,
# AMI 127.0.0.K:5038, RTP K*10000…, systemname media-K (unique ids across
# servers), its own config folder made from the lab's, the desk phones
# reached through Kamailio (static contacts), recordings and prompts in the
# lab's shared folders. Kamailio: udp 127.0.0.1:5080 (phones register there,
# the carrier sends there), JSON-RPC http://127.0.0.1:5081/RPC.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${CENTRALITA_LAB_CACHE:-/var/cache/centralita-lab}
root="$cache/rootfs"
run="$cache/run"
edge_port=5080
rpc_port=5081

say() { echo "lab-media: $*" >&2; }
die() { echo "lab-media: error: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (chroot)"

running_pid() {
  local pidfile=$1 pid
  [ -f "$pidfile" ] || return 1
  pid=$(cat "$pidfile")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

check_name() { [[ "$1" =~ ^media-[2-6]$ ]] || die "no media server '$1' (media-2 … media-6)"; }

# media-K's config folder from the lab's: its addresses and ports, its
# systemname, and each desk phone's AOR given a static contact at Kamailio
# (the phones register there; the media server qualifies them through it).
configure() {
  local name=$1 n=${1#media-} addr="127.0.0.${1#media-}" etc="/etc/asterisk-$1"
  rm -rf "${root:?}$etc"
  cp -a "$root/etc/asterisk" "$root$etc"
  cat >"$root$etc/asterisk.conf" <<EOF
[directories]
astetcdir => $etc
astrundir => /var/run/asterisk-$name
astlogdir => /var/log/asterisk-$name
astdbdir => /var/lib/asterisk-$name

[options]
systemname = $name
EOF
  sed -i "s/^bindaddr = 127.0.0.1/bindaddr = $addr/" "$root$etc/http.conf" "$root$etc/manager.conf"
  sed -i "s/^bind = 127.0.0.1:5060/bind = $addr:5060/" "$root$etc/pjsip.conf"
  sed -i "s/^rtpstart = .*/rtpstart = $((n * 10000))/; s/^rtpend = .*/rtpend = $((n * 10000 + 9999))/" "$root$etc/rtp.conf"
  sed -i -E "s/^\[([0-9]+)\]\((phone-aor)\)$/&\ncontact = sip:\1@127.0.0.1:$edge_port/" "$root$etc/pjsip.conf"
  mkdir -p "$root/var/run/asterisk-$name" "$root/var/log/asterisk-$name" "$root/var/lib/asterisk-$name"
}

start_media() {
  local name=$1 addr="127.0.0.${1#media-}" pidfile="$run/asterisk-$1.pid" pid
  if pid=$(running_pid "$pidfile"); then say "$name already running (pid $pid)"; return 0; fi
  [ -d "$root/etc/asterisk-$name" ] || configure "$name"
  (
    for fd in /proc/$BASHPID/fd/*; do
      fd=${fd##*/}
      if [ "$fd" -gt 2 ] && [ "$fd" -lt 255 ]; then eval "exec $fd>&-"; fi
    done
    exec setsid chroot "$root" /usr/sbin/asterisk -C "/etc/asterisk-$name/asterisk.conf" -f </dev/null >"$run/asterisk-$name.out" 2>&1
  ) &
  echo $! >"$pidfile"
  for _ in $(seq 1 150); do
    if curl -fsS -m 2 -u centralita:centralita-lab-ari "http://$addr:8088/ari/asterisk/info" >/dev/null 2>&1; then
      say "$name is up: ARI http://$addr:8088/ari, AMI $addr:5038, SIP udp $addr:5060"
      return 0
    fi
    running_pid "$pidfile" >/dev/null || die "$name exited during start-up; see $run/asterisk-$name.out"
    sleep 0.2
  done
  die "$name: ARI did not answer within 30 s; see $run/asterisk-$name.out"
}

stop_media() {
  local name=$1 signal=${2:-TERM} pidfile="$run/asterisk-$1.pid" pid
  if pid=$(running_pid "$pidfile"); then
    kill "-$signal" "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    say "$name stopped ($signal)"
  fi
  rm -f "$pidfile"
}

start_kamailio() {
  local count=$1 dir="$run/kamailio" pid list=""
  mkdir -p "$dir"
  for n in $(seq 2 $((count + 1))); do list+="1 sip:127.0.0.$n:5060"$'\n'; done
  if pid=$(running_pid "$dir/kamailio.pid") && [ "$(cat "$dir/dispatcher.list" 2>/dev/null)" = "${list%$'\n'}" ] \
    && cmp -s "$repo/config/kamailio/kamailio.cfg" "$dir/kamailio.cfg.source"; then
    say "kamailio already running (pid $pid)"
    return 0
  fi
  stop_kamailio
  printf '%s' "${list%$'\n'}" >"$dir/dispatcher.list"
  cp "$repo/config/kamailio/kamailio.cfg" "$dir/kamailio.cfg.source"
  sed "s|DISPATCHER_LIST|$dir/dispatcher.list|; s|EDGE_PORT|$edge_port|g; s|RPC_PORT|$rpc_port|g" "$repo/config/kamailio/kamailio.cfg" >"$dir/kamailio.cfg"
  kamailio -c -f "$dir/kamailio.cfg" >"$dir/check.out" 2>&1 || die "kamailio.cfg does not load: $(tail -5 "$dir/check.out")"
  kamailio -f "$dir/kamailio.cfg" -P "$dir/kamailio.pid" -Y "$dir" -E >"$dir/kamailio.out" 2>&1 </dev/null
  for _ in $(seq 1 50); do
    if curl -fsS -m 2 -d '{"jsonrpc":"2.0","method":"core.version","id":1}' "http://127.0.0.1:$rpc_port/RPC" >/dev/null 2>&1; then
      say "kamailio is up: SIP udp 127.0.0.1:$edge_port, RPC http://127.0.0.1:$rpc_port/RPC, $count media servers"
      return 0
    fi
    sleep 0.1
  done
  die "kamailio did not answer its RPC within 5 s; see $dir/kamailio.out"
}

stop_kamailio() {
  local pid
  if pid=$(running_pid "$run/kamailio/kamailio.pid"); then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    say "kamailio stopped"
  fi
  rm -f "$run/kamailio/kamailio.pid"
}

up() {
  local count=$1
  # media-6 is the last whose RTP range (N×10000…+9999) fits under 65536.
  [[ "$count" =~ ^[1-5]$ ]] || die "usage: lab-media.sh up N (1-5 media servers)"
  [ -d "$root/etc/asterisk" ] || die "the lab is not built: bash scripts/lab.sh up"
  command -v kamailio >/dev/null || { apt-get update -q >/dev/null; DEBIAN_FRONTEND=noninteractive apt-get install -y -q kamailio >/dev/null; }
  local hash; hash=$(cat "$run/config.sha" 2>/dev/null || true)
  for n in $(seq 2 $((count + 1))); do
    # Made again when the lab's configuration changed since it started.
    if [ "$(cat "$run/asterisk-media-$n.sha" 2>/dev/null)" != "$hash" ]; then stop_media "media-$n"; configure "media-$n"; fi
    echo "$hash" >"$run/asterisk-media-$n.sha"
    start_media "media-$n"
  done
  for n in $(seq $((count + 2)) 9); do stop_media "media-$n"; done
  start_kamailio "$count"
}

down() {
  for n in $(seq 2 9); do stop_media "media-$n"; done
  stop_kamailio
}

status() {
  for n in $(seq 2 9); do
    if pid=$(running_pid "$run/asterisk-media-$n.pid"); then say "media-$n running (pid $pid)"; fi
  done
  if pid=$(running_pid "$run/kamailio/kamailio.pid"); then say "kamailio running (pid $pid)"; else say "kamailio not running"; fi
}

case "${1:-}" in
  up) up "${2:-2}" ;;
  down) down ;;
  kill) check_name "${2:-}"; stop_media "$2" KILL ;;
  start) check_name "${2:-}"; start_media "$2" ;;
  status) status ;;
  *) die "usage: lab-media.sh up N | down | kill NAME | start NAME | status" ;;
esac
