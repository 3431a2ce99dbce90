#!/usr/bin/env bash
# Glances' shipped config with everything that would contact another host
# off (update check, public IP lookup, default-gateway port scan).
# usage: scripts/glances-safe-conf.sh SHIPPED_CONF > SAFE_CONF
set -euo pipefail
sed -e 's/^check_update=true/check_update=false/' \
    -e 's/^public_ip_disabled=False/public_ip_disabled=True/' \
    -e 's/^port_default_gateway=True/port_default_gateway=False/' "$1"
