#!/usr/bin/env bash
# Installs a built centralita as a systemd service on Debian 12 (root):
#
#   npm ci && npm run build        # in a checkout, on any machine with Node 20
#   sudo bash scripts/install.sh   # on the server, from that checkout
#
# It creates the system user centralita, copies the built app to
# /opt/centralita with its production packages (npm ci --omit=dev), writes
# /etc/centralita/centralita.env from deploy/centralita.env.template (only
# when there is none: an existing one is never touched), creates the data,
# recordings and prompts folders, installs deploy/systemd/centralita.service
# and enables it. It does not start it: fill in the secrets first.
# Run again to upgrade: the app is replaced, configuration and data stay.
#
# Asterisk shares two folders with centralita: it writes recordings into
# the recordings folder and plays prompts from the prompts folder. Both get
# the group ASTERISK_GROUP (default asterisk, when that group exists) and
# centralita joins it. The paths below are the unit's and the template's
# (test/unit/service-files.test.ts keeps the three the same).
set -euo pipefail

readonly APP_DIR=/opt/centralita
readonly CONFIG_DIR=/etc/centralita
readonly ENV_FILE=/etc/centralita/centralita.env
readonly DATA_DIR=/var/lib/centralita/data
readonly PROMPTS_DIR=/var/lib/centralita/prompts
readonly RECORDINGS_DIR=/var/spool/centralita/recordings
readonly UNIT_FILE=/etc/systemd/system/centralita.service
readonly SERVICE_USER=centralita
readonly NODE=/usr/bin/node
ASTERISK_GROUP=${ASTERISK_GROUP:-asterisk}

say() { echo "install: $*" >&2; }
die() { say "$*"; exit 1; }

cd "$(dirname "$0")/.."
SOURCE=$(pwd)

[ "$(id -u)" -eq 0 ] || die "run as root (sudo bash scripts/install.sh)"
if [ -r /etc/os-release ]; then
  # shellcheck source=/dev/null
  . /etc/os-release
  [ "${ID:-}" = debian ] && [ "${VERSION_ID:-}" = 12 ] || say "written for Debian 12; this is ${PRETTY_NAME:-unknown}: going on"
fi
[ -x "$NODE" ] || die "no $NODE: install Node.js 20 or later (Debian 12's own nodejs is 18: use NodeSource's node_20.x packages)"
node_major=$("$NODE" -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || die "$NODE is Node.js $node_major; centralita needs 20 or later"
command -v npm >/dev/null || die "npm is missing (it comes with NodeSource's nodejs package)"
[ -f dist/main.js ] || die "no build in $SOURCE/dist: run 'npm ci && npm run build' first"

# --- the user
if ! id -u "$SERVICE_USER" >/dev/null 2>&1; then
  useradd --system --user-group --home-dir /var/lib/centralita --no-create-home --shell /usr/sbin/nologin "$SERVICE_USER"
  say "created the system user $SERVICE_USER"
fi
if getent group "$ASTERISK_GROUP" >/dev/null; then
  shared_group=$ASTERISK_GROUP
  usermod -a -G "$ASTERISK_GROUP" "$SERVICE_USER"
else
  shared_group=$SERVICE_USER
  say "no group $ASTERISK_GROUP (Asterisk not installed here, or ASTERISK_GROUP=<its group>): the recordings and prompts folders get group $SERVICE_USER; Asterisk must be able to write the one and read the other"
fi

# --- the app: staged next to the old one, then swapped, so a failed
# npm ci leaves the installed version as it was. Owned by root: the service
# cannot change its own code.
stage="$APP_DIR.new"
rm -rf "$stage"
mkdir -p "$stage"
cp -a dist migrations web sounds package.json package-lock.json README.md "$stage/"
[ -f CHANGELOG.md ] && cp -a CHANGELOG.md "$stage/"
say "installing the production packages (npm ci --omit=dev)"
(cd "$stage" && npm ci --omit=dev --no-audit --no-fund --loglevel=error)
chown -R root:root "$stage"
chmod -R u=rwX,go=rX "$stage"
if [ -d "$APP_DIR" ]; then
  rm -rf "$APP_DIR.old"
  mv "$APP_DIR" "$APP_DIR.old"
fi
mv "$stage" "$APP_DIR"
rm -rf "$APP_DIR.old"
say "installed $("$NODE" -p "require('$APP_DIR/package.json').version") in $APP_DIR"

# --- folders
install -d -m 0755 -o root -g root /var/lib/centralita /var/spool/centralita
install -d -m 0750 -o "$SERVICE_USER" -g "$SERVICE_USER" "$DATA_DIR"
# setgid: files Asterisk creates in them keep the shared group.
install -d -m 2770 -o "$SERVICE_USER" -g "$shared_group" "$RECORDINGS_DIR"
# Asterisk records into in-progress/ (centralita moves finished files out of it).
install -d -m 2770 -o "$SERVICE_USER" -g "$shared_group" "$RECORDINGS_DIR/in-progress"
install -d -m 2750 -o "$SERVICE_USER" -g "$shared_group" "$PROMPTS_DIR"

# --- configuration: written once, never overwritten
install -d -m 0755 -o root -g root "$CONFIG_DIR"
install -m 0644 -o root -g root deploy/centralita.env.template "$CONFIG_DIR/centralita.env.template"
if [ -e "$ENV_FILE" ]; then
  say "kept $ENV_FILE (compare with $CONFIG_DIR/centralita.env.template for new keys)"
else
  token=$("$NODE" -e 'process.stdout.write(require("node:crypto").randomBytes(24).toString("hex"))')
  umask 077
  sed "s/^CENTRALITA_ADMIN_TOKEN=\$/CENTRALITA_ADMIN_TOKEN=$token/" deploy/centralita.env.template > "$ENV_FILE.tmp"
  chown root:"$SERVICE_USER" "$ENV_FILE.tmp"
  chmod 0600 "$ENV_FILE.tmp"
  mv "$ENV_FILE.tmp" "$ENV_FILE"
  say "wrote $ENV_FILE with a new admin token; set CENTRALITA_ARI_PASSWORD and CENTRALITA_AMI_PASSWORD (and DATABASE_URL) in it"
fi

# --- the unit
install -m 0644 -o root -g root deploy/systemd/centralita.service "$UNIT_FILE"
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  systemctl enable centralita.service
  say "enabled centralita.service; start it with: systemctl start centralita (then: journalctl -u centralita -f, curl http://127.0.0.1:3000/health)"
  if systemctl is-active --quiet centralita.service; then
    say "centralita is running the previous version: systemctl restart centralita"
  fi
else
  say "systemd is not running here (a chroot or a container): skipped 'systemctl daemon-reload' and 'systemctl enable centralita'; run them on the booted system"
fi
