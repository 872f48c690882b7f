#!/usr/bin/env bash
# More media servers for the scale-out lab (issue 26, docs/scale-out.md): a
# second (third…) Asterisk from the lab's chroot, on 127.0.0.N, with a
# config folder of its own made from the lab's. A draft the two-server lab
# (`lab.sh up --media 2`) will be built on; the lab itself (lab.sh up) must
# be up first.
#   lab-media.sh up N      start media server N (2, 3) on 127.0.0.N
#   lab-media.sh down N    stop it
# Each: SIP udp 127.0.0.N:5060, ARI http://127.0.0.N:8088/ari, AMI
# 127.0.0.N:5038, RTP 10000+N*10000…, systemname media-N (unique ids across
# servers), recordings into the lab's shared recordings folder.
set -euo pipefail

cache=${CENTRALITA_LAB_CACHE:-/var/cache/centralita-lab}
root="$cache/rootfs"
run="$cache/run"

say() { echo "lab-media: $*" >&2; }
die() { echo "lab-media: error: $*" >&2; exit 1; }

n=${2:-}
[[ "$n" =~ ^[2-9]$ ]] || die "usage: lab-media.sh up|down N (2-9)"
[ "$(id -u)" = 0 ] || die "needs root (chroot)"
name="media-$n"
addr="127.0.0.$n"
etc="/etc/asterisk-$name"
pidfile="$run/asterisk-$name.pid"

running_pid() {
  [ -f "$pidfile" ] || return 1
  local pid; pid=$(cat "$pidfile")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

up() {
  [ -d "$root/etc/asterisk" ] || die "the lab is not built: bash scripts/lab.sh up"
  if pid=$(running_pid); then say "$name already running (pid $pid)"; return 0; fi
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
  mkdir -p "$root/var/run/asterisk-$name" "$root/var/log/asterisk-$name" "$root/var/lib/asterisk-$name"
  say "starting $name on $addr"
  (
    for fd in /proc/$BASHPID/fd/*; do
      fd=${fd##*/}
      if [ "$fd" -gt 2 ] && [ "$fd" -lt 255 ]; then eval "exec $fd>&-"; fi
    done
    exec setsid chroot "$root" /usr/sbin/asterisk -C "$etc/asterisk.conf" -f -vvv </dev/null >"$run/asterisk-$name.out" 2>&1
  ) &
  echo $! >"$pidfile"
  for _ in $(seq 1 150); do
    if curl -fsS -m 2 -u centralita:centralita-lab-ari "http://$addr:8088/ari/asterisk/info" >/dev/null 2>&1; then
      say "$name is up: ARI http://$addr:8088/ari, AMI $addr:5038, SIP udp $addr:5060"
      return 0
    fi
    running_pid >/dev/null || die "$name exited during start-up; see $run/asterisk-$name.out"
    sleep 0.2
  done
  die "$name: ARI did not answer within 30 s; see $run/asterisk-$name.out"
}

down() {
  if pid=$(running_pid); then
    say "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
  say "$name down"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  *) die "usage: lab-media.sh up|down N" ;;
esac
