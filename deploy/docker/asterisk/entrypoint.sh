#!/bin/sh
# Writes centralita's ARI and AMI users (passwords from the environment) and
# the dialplan include into /etc/asterisk, then runs Asterisk. The site's own
# pjsip.conf and extensions.conf come from the mounted /etc/asterisk-site.
set -eu
: "${CENTRALITA_ARI_PASSWORD:?set CENTRALITA_ARI_PASSWORD}"
: "${CENTRALITA_AMI_PASSWORD:?set CENTRALITA_AMI_PASSWORD}"
snippets=/usr/share/centralita/asterisk
site=/etc/asterisk-site
if [ -d "$site" ]; then cp "$site"/*.conf /etc/asterisk/ 2>/dev/null || true; fi
sed "s/REPLACE-WITH-A-LONG-RANDOM-SECRET/$CENTRALITA_ARI_PASSWORD/" "$snippets/ari.conf" > /etc/asterisk/ari.conf
sed "s/REPLACE-WITH-A-LONG-RANDOM-SECRET/$CENTRALITA_AMI_PASSWORD/" "$snippets/manager.conf" > /etc/asterisk/manager.conf
# Same host network as centralita: ARI on the loopback, plain HTTP.
printf '[general]\nenabled = yes\nbindaddr = 127.0.0.1\nbindport = 8088\nsessionlimit = 1000\n' > /etc/asterisk/http.conf
cp "$snippets/extensions-centralita.conf" /etc/asterisk/extensions-centralita.conf
grep -q 'extensions-centralita.conf' /etc/asterisk/extensions.conf || echo '#include extensions-centralita.conf' >> /etc/asterisk/extensions.conf
chown asterisk:asterisk /etc/asterisk/*.conf
exec "$@"
