#!/bin/sh
# Writes centralita's ARI and AMI users (passwords from the environment) and
# the dialplan include into /etc/asterisk, then runs Asterisk. The site's own
# pjsip.conf and extensions.conf come from the mounted /etc/asterisk-site.
set -eu
: "${CENTRALITA_ARI_PASSWORD:?set CENTRALITA_ARI_PASSWORD}"
: "${CENTRALITA_AMI_PASSWORD:?set CENTRALITA_AMI_PASSWORD}"
snippets=/usr/share/centralita/asterisk
site=/etc/asterisk-site

# put_secret SNIPPET NAME VALUE: prints SNIPPET with its placeholder replaced
# by VALUE (the password NAME), in plain sh: through sed a '/', '&' or '\' in a
# password would be read as sed's own syntax. Asterisk reads ';' as the start
# of a comment unless written '\;' (it drops that backslash again), and
# strips spaces at both ends of a value; a line break would begin a line of
# configuration of its own. So ';' is escaped, and a password with control
# characters or spaces at its ends is refused.
put_secret() {
  placeholder=REPLACE-WITH-A-LONG-RANDOM-SECRET secret=$3
  case "$secret" in
    *[[:cntrl:]]* | [[:space:]]* | *[[:space:]])
      echo "entrypoint: $2 must not hold control characters nor begin or end with a space" >&2
      exit 1 ;;
  esac
  escaped='' rest=$secret
  while :; do
    case "$rest" in
      *';'*) escaped="$escaped${rest%%;*}\\;" rest=${rest#*;} ;;
      *) break ;;
    esac
  done
  escaped="$escaped$rest"
  while IFS= read -r line || [ -n "$line" ]; do
    case "$line" in
      *"$placeholder"*) printf '%s\n' "${line%%"$placeholder"*}$escaped${line#*"$placeholder"}" ;;
      *) printf '%s\n' "$line" ;;
    esac
  done < "$1"
}

if [ -d "$site" ]; then cp "$site"/*.conf /etc/asterisk/ 2>/dev/null || true; fi
put_secret "$snippets/ari.conf" CENTRALITA_ARI_PASSWORD "$CENTRALITA_ARI_PASSWORD" > /etc/asterisk/ari.conf
put_secret "$snippets/manager.conf" CENTRALITA_AMI_PASSWORD "$CENTRALITA_AMI_PASSWORD" > /etc/asterisk/manager.conf
# Same host network as centralita: ARI on the loopback, plain HTTP.
printf '[general]\nenabled = yes\nbindaddr = 127.0.0.1\nbindport = 8088\nsessionlimit = 1000\n' > /etc/asterisk/http.conf
cp "$snippets/extensions-centralita.conf" /etc/asterisk/extensions-centralita.conf
grep -q 'extensions-centralita.conf' /etc/asterisk/extensions.conf || echo '#include extensions-centralita.conf' >> /etc/asterisk/extensions.conf
chown asterisk:asterisk /etc/asterisk/*.conf
exec "$@"
