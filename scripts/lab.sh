#!/usr/bin/env bash
# The Asterisk lab: Asterisk 22 from Debian unstable in a chroot on this
# machine, configured from config/asterisk and dialplan/, bound to 127.0.0.1.
#   lab.sh up      build (once, cached) and start; idempotent
#   lab.sh up --media N   and the scale-out lab beside it: N media servers
#                  behind Kamailio (scripts/lab-media.sh, docs/scale-out.md)
#   lab.sh down    stop and unmount
#   lab.sh status  what runs
#   lab.sh mirror  the Debian mirror the root is built from (apt's own)
#   lab.sh restart down then up
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${CENTRALITA_LAB_CACHE:-/var/cache/centralita-lab}
root="$cache/rootfs"
run="$cache/run"
pidfile="$run/asterisk.pid"
recordings=${CENTRALITA_RECORDINGS_DIR:-$repo/recordings}
prompts=${CENTRALITA_PROMPTS_DIR:-$repo/prompts}
prompt_sounds="$root/usr/share/asterisk/sounds/centralita-prompts"
ari_url=http://127.0.0.1:8088/ari
ari_auth=centralita:centralita-lab-ari
rootfs_version=3 # bump when the packages in the root change

say() { echo "lab: $*" >&2; }
die() { echo "lab: error: $*" >&2; exit 1; }

need_root() { [ "$(id -u)" = 0 ] || die "the lab needs root (chroot, mount); run it with sudo"; }

ensure_host_packages() {
  local missing=()
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  command -v sipp >/dev/null || missing+=(sip-tester)
  command -v sox >/dev/null || missing+=(sox)
  command -v tcpdump >/dev/null || missing+=(tcpdump)
  command -v curl >/dev/null || missing+=(curl)
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]}"
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
  fi
}

# The Debian mirror apt uses on this machine, for debootstrap: the first
# source (in apt's order: sources.list, then sources.list.d/ sorted) of the
# Debian archive itself, that is components with main and a Debian suite
# (a codename or stable/testing/unstable, plus -updates/-backports), not
# -security. Both formats: one-line (.list) and deb822 (.sources, with
# Enabled: no skipped). A mirror+file: URI is read from its mirror list.
# Nothing is assumed when apt has no such source. CENTRALITA_LAB_APT_DIR
# (default /etc/apt) is for the test of this function only.
debian_mirror() {
  local apt_dir=${CENTRALITA_LAB_APT_DIR:-/etc/apt} files=() f uri
  [ -f "$apt_dir/sources.list" ] && files+=("$apt_dir/sources.list")
  for f in "$apt_dir"/sources.list.d/*; do
    case "$f" in *.list | *.sources) [ -f "$f" ] && files+=("$f") ;; esac
  done
  [ ${#files[@]} -gt 0 ] || return 1
  uri=$(awk '
    function debian_suite(s) {
      return s ~ /^(sid|unstable|testing|stable|oldstable|oldoldstable|jessie|stretch|buster|bullseye|bookworm|trixie|forky|duke)(-updates|-backports|-proposed-updates)?$/
    }
    function usable(u) { return u ~ /^(https?|ftp|file|mirror\+file):/ && u !~ /security/ }
    function has_main(list,   n, a, i) { n = split(list, a, " "); for (i = 1; i <= n; i++) if (a[i] == "main") return 1; return 0 }
    function some_suite(list,   n, a, i) { n = split(list, a, " "); for (i = 1; i <= n; i++) if (debian_suite(a[i])) return 1; return 0 }
    function found(u) { print u; done = 1; exit }
    function stanza(   n, a, i) {
      if (tolower(f["enabled"]) != "no" && (" " f["types"] " ") ~ / deb / && has_main(f["components"]) && some_suite(f["suites"])) {
        n = split(f["uris"], a, " ")
        for (i = 1; i <= n; i++) if (usable(a[i])) found(a[i])
      }
      delete f; key = ""
    }
    FNR == 1 { if (deb822) stanza(); deb822 = FILENAME ~ /\.sources$/ }
    deb822 {
      if ($0 ~ /^[ \t]*#/) next
      if ($0 ~ /^[ \t]*$/) { stanza(); next }
      if ($0 ~ /^[ \t]/) { if (key != "") f[key] = f[key] " " $0; next }
      i = index($0, ":"); if (!i) next
      key = tolower(substr($0, 1, i - 1)); v = substr($0, i + 1); gsub(/^[ \t]+|[ \t]+$/, "", v); f[key] = v
      next
    }
    /^[ \t]*deb[ \t]/ {
      line = $0; sub(/^[ \t]*deb[ \t]+/, "", line); sub(/^\[[^]]*\][ \t]*/, "", line)
      n = split(line, a, " "); comps = ""
      for (i = 3; i <= n; i++) comps = comps " " a[i]
      if (debian_suite(a[2]) && has_main(comps) && usable(a[1])) found(a[1])
    }
    END { if (deb822 && !done) stanza() }
  ' "${files[@]}") || return 1
  if [[ $uri == mirror+file:* ]]; then
    uri=$(awk '/^[ \t]*(#|$)/ { next } { print $1; exit }' "${uri#mirror+file://}" 2>/dev/null)
  fi
  [ -n "$uri" ] || return 1
  echo "$uri"
}

build_root() {
  if [ -f "$root/.centralita-lab" ] && [ "$(cat "$root/.centralita-lab")" = "$rootfs_version" ]; then
    return
  fi
  mkdir -p "$cache"
  if [ ! -x "$root/usr/sbin/asterisk" ]; then
    local mirror
    mirror=$(debian_mirror) || die "no Debian mirror in this machine's apt sources (${CENTRALITA_LAB_APT_DIR:-/etc/apt}/sources.list, sources.list.d/*.list or *.sources): debootstrap needs one; add the Debian archive to apt's sources and run again"
    say "building the Asterisk root from Debian unstable ($mirror), about a minute"
    rm -rf "$root.tmp"
    debootstrap --variant=minbase --include=asterisk sid "$root.tmp" "$mirror" >"$cache/debootstrap.log" 2>&1 \
      || die "debootstrap failed, see $cache/debootstrap.log"
    rm -rf "$root"
    mv "$root.tmp" "$root"
  fi
  say "installing Spanish prompts and music on hold in the root"
  mount_proc
  chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    asterisk-core-sounds-en-gsm asterisk-core-sounds-es-gsm asterisk-moh-opsound-gsm >"$cache/packages.log" 2>&1 \
    || die "installing sound packages failed, see $cache/packages.log"
  # Relative links, so the host can copy prompts into them (Debian's en link
  # is absolute, through /etc/alternatives, and would point into the host).
  ln -sfn es_MX_f_Allison "$root/usr/share/asterisk/sounds/es"
  ln -sfn en_US_f_Allison "$root/usr/share/asterisk/sounds/en"
  [ -d "$root/etc/asterisk.debian" ] || cp -a "$root/etc/asterisk" "$root/etc/asterisk.debian"
  echo "$rootfs_version" >"$root/.centralita-lab"
}

check_version() {
  local v; v=$(chroot "$root" /usr/sbin/asterisk -V 2>/dev/null || true)
  case "$v" in
    "Asterisk 22."*) ;;
    *) die "the lab needs Asterisk 22, the root has '${v:-nothing}'; remove $root to rebuild it" ;;
  esac
}

mount_proc() {
  mountpoint -q "$root/proc" || mount -t proc proc "$root/proc"
}

install_config() {
  rm -rf "$root/etc/asterisk"
  mkdir -p "$root/etc/asterisk"
  cp "$repo"/config/asterisk/*.conf "$root/etc/asterisk/"
  mkdir -p "$root/etc/asterisk/dialplan"
  cp "$repo"/dialplan/*.conf "$root/etc/asterisk/dialplan/"
  for lang in "$repo"/sounds/*/centralita/; do
    lang=$(basename "$(dirname "$lang")")
    mkdir -p "$root/usr/share/asterisk/sounds/$lang/centralita"
    cp "$repo/sounds/$lang/centralita/"*.wav "$root/usr/share/asterisk/sounds/$lang/centralita/"
  done
  # The lab's own music class `lab-tone` (musiconhold.conf): a 600 Hz tone a test phone can recognise.
  mkdir -p "$root/usr/share/asterisk/moh-lab-tone"
  cp "$repo"/sounds/moh-lab-tone/*.wav "$root/usr/share/asterisk/moh-lab-tone/"
  # Without the machine's own name in /etc/hosts Asterisk looks it up in DNS
  # on every call, which a closed network makes slow.
  printf '127.0.0.1 localhost %s\n::1 localhost ip6-localhost\n' "$(hostname)" >"$root/etc/hosts"
  mkdir -p "$root/var/spool/asterisk/recording" "$root/var/lib/asterisk" "$root/var/log/asterisk" "$root/var/run/asterisk"
  mkdir -p "$recordings"
  bind_mount "$recordings" "$root/var/spool/asterisk/recording"
  # Uploaded prompts, played as sound:centralita-prompts/<name>.
  mkdir -p "$prompts" "$prompt_sounds"
  bind_mount "$prompts" "$prompt_sounds"
}

# Bind $1 onto $2, replacing whatever is mounted there already: another
# checkout's folder, or a mount left behind when Asterisk was killed without
# `down` (a new machine state, a CI run after a session).
bind_mount() {
  local src=$1 dst=$2
  while mountpoint -q "$dst"; do umount "$dst" 2>/dev/null || umount -l "$dst"; done
  mount --bind "$src" "$dst"
}

# Whether the folders seen inside the root are this checkout's (a bind mount
# shows the same device and inode as its source).
mounts_ok() {
  [ "$(stat -c %d:%i "$recordings")" = "$(stat -c %d:%i "$root/var/spool/asterisk/recording" 2>/dev/null)" ] &&
    [ "$(stat -c %d:%i "$prompts")" = "$(stat -c %d:%i "$prompt_sounds" 2>/dev/null)" ]
}

running_pid() {
  [ -f "$pidfile" ] || return 1
  local pid; pid=$(cat "$pidfile")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && [ "$(readlink "/proc/$pid/root" 2>/dev/null)" = "$root" ] && echo "$pid"
}

ari_ready() {
  curl -fsS -m 2 -u "$ari_auth" "$ari_url/asterisk/info" >/dev/null 2>&1
}

# What the running Asterisk was configured from, including which folders are
# mounted into it (another checkout has its own): a change means a restart.
config_hash() {
  { echo "$recordings $prompts"; cat "$repo"/config/asterisk/*.conf "$repo"/dialplan/*.conf "$repo"/sounds/*/centralita/*.wav "$repo"/sounds/moh-lab-tone/*.wav; } | sha256sum | cut -d' ' -f1
}

up() {
  need_root
  ensure_host_packages
  build_root
  check_version
  mkdir -p "$recordings" "$prompts"
  if pid=$(running_pid) && { [ "$(cat "$run/config.sha" 2>/dev/null)" != "$(config_hash)" ] || ! mounts_ok; }; then
    say "the lab configuration or its mounted folders changed since Asterisk started; restarting it"
    down
  fi
  if pid=$(running_pid); then
    say "Asterisk already running (pid $pid)"
  else
    mount_proc
    install_config
    mkdir -p "$run"
    say "starting Asterisk"
    # Asterisk must not inherit the caller's descriptors: under
    # `flock /tmp/centralita-lab.lock lab.sh up` it would otherwise hold the
    # lab lock for as long as it runs, and every later locked run would wait.
    (
      for fd in /proc/$BASHPID/fd/*; do
        fd=${fd##*/}
        if [ "$fd" -gt 2 ] && [ "$fd" -lt 255 ]; then eval "exec $fd>&-"; fi
      done
      exec setsid chroot "$root" /usr/sbin/asterisk -f -vvv </dev/null >"$run/asterisk.out" 2>&1
    ) &
    echo $! >"$pidfile"
    config_hash >"$run/config.sha"
  fi
  mounts_ok || die "$recordings and $prompts are not what Asterisk sees; run lab.sh restart"
  for _ in $(seq 1 150); do
    if ari_ready; then
      say "Asterisk $(chroot "$root" /usr/sbin/asterisk -V | cut -d' ' -f2) is up: ARI $ari_url, AMI 127.0.0.1:5038, SIP udp 127.0.0.1:5060"
      return 0
    fi
    running_pid >/dev/null || die "Asterisk exited during start-up; see $run/asterisk.out"
    sleep 0.2
  done
  die "ARI did not answer within 30 s; see $run/asterisk.out"
}

down() {
  need_root
  # The scale-out lab's media servers share the root and its mounts: they go first.
  if compgen -G "$run/asterisk-media-*.pid" >/dev/null || [ -f "$run/kamailio/kamailio.pid" ]; then bash "$repo/scripts/lab-media.sh" down; fi
  if pid=$(running_pid); then
    say "stopping Asterisk (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
  if [ -d "$root" ]; then
    local m
    for m in "$root/var/spool/asterisk/recording" "$prompt_sounds" "$root/proc"; do
      while mountpoint -q "$m"; do umount "$m" 2>/dev/null || umount -l "$m"; done
    done
  fi
  say "down"
}

status() {
  if pid=$(running_pid); then
    echo "asterisk: running (pid $pid)"
  else
    echo "asterisk: stopped"
  fi
  if ari_ready; then echo "ari: up ($ari_url)"; else echo "ari: down"; fi
  if [ -x "$root/usr/sbin/asterisk" ]; then echo "root: $root"; else echo "root: not built"; fi
  if compgen -G "$run/asterisk-media-*.pid" >/dev/null; then bash "$repo/scripts/lab-media.sh" status; fi
}

case "${1:-}" in
  up)
    if [ "${2:-}" = --media ]; then
      [[ "${3:-}" =~ ^[1-5]$ ]] || die "usage: lab.sh up --media N (1-5)"
      up
      bash "$repo/scripts/lab-media.sh" up "$3"
    else
      up
    fi
    ;;
  down) down ;;
  restart) down; up ;;
  status) status ;;
  mirror) debian_mirror || die "no Debian mirror in this machine's apt sources" ;;
  *) echo "usage: $0 up|down|restart|status|mirror" >&2; exit 2 ;;
esac
