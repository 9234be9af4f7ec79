#!/usr/bin/env bash
# A city hub on PostgreSQL, on Debian: run after `install-box.sh hub` (which installs
# Linli in /opt/linli/.venv, the linli user and /var/lib/linli).
#
#   sudo ./install-hub-pg.sh [--processes 2] [--first-port 8100] [--from /var/lib/linli/hub.db]
#
# Installs Debian's postgresql, makes the role `linli` (peer authentication over the
# local socket: no password) and the database `linli_hub`, adds psycopg and its pool to
# Linli's venv (pinned with hashes: requirements/hub-pg.txt), moves an existing SQLite
# hub in with `linli hub migrate` when --from names one (the SQLite hub is stopped
# first), and starts N hub processes, linli-hub-pg@PORT. Put a load balancer in front.
set -euo pipefail
die() { echo "install-hub-pg: $*" >&2; exit 1; }
processes=2 first_port=8100 from=""
while [ $# -gt 0 ]; do
  case $1 in
    --processes) processes=${2:?}; shift 2 ;;
    --first-port) first_port=${2:?}; shift 2 ;;
    --from) from=${2:?}; shift 2 ;;
    *) die "unknown option $1" ;;
  esac
done
[ "$(id -u)" = 0 ] || die "run as root (sudo)"
here=$(cd "$(dirname "$0")" && pwd)
reqs=$here/../requirements/hub-pg.txt
[ -f "$reqs" ] || reqs=$here/hub-pg.txt
[ -f "$reqs" ] || die "no requirements/hub-pg.txt beside this script"
venv=/opt/linli/.venv
[ -x "$venv/bin/linli" ] || die "Linli is not installed: run install-box.sh hub first"

command -v pg_ctlcluster >/dev/null 2>&1 || {
  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql
}
systemctl enable --now postgresql
runuser -u postgres -- psql -qtAc "SELECT 1 FROM pg_roles WHERE rolname = 'linli'" | grep -q 1 \
  || runuser -u postgres -- createuser linli
runuser -u postgres -- psql -qtAc "SELECT 1 FROM pg_database WHERE datname = 'linli_hub'" \
  | grep -q 1 || runuser -u postgres -- createdb -O linli -E UTF8 linli_hub

"$venv/bin/pip" install --quiet --disable-pip-version-check --require-hashes -r "$reqs"
url="postgresql:///linli_hub?host=/var/run/postgresql"
cat >/etc/default/linli-hub-pg <<CONF
# The hub's PostgreSQL database. After a change: systemctl restart 'linli-hub-pg@*'
LINLI_HUB_URL=$url
CONF

if [ -n "$from" ]; then
  systemctl disable --now linli-hub.service 2>/dev/null || true
  runuser -u linli -- "$venv/bin/linli" hub migrate --from "$from" --to "$url"
fi
install -m 644 "$here/linli-hub-pg@.service" /etc/systemd/system/
systemctl daemon-reload
for i in $(seq 0 $((processes - 1))); do
  systemctl enable --now "linli-hub-pg@$((first_port + i))"
done
echo "hub on PostgreSQL: $processes processes on ports $first_port.. (127.0.0.1); add a load balancer"
