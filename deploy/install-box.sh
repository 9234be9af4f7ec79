#!/usr/bin/env bash
# Put a centre box into service: run as root on a fresh Debian/Raspberry Pi OS box,
# from a checkout of this repository.
#   sudo deploy/install-box.sh "金沙路社区" 小玮 1234
set -euo pipefail
name=${1:?centre name}; manager=${2:?manager name}; pin=${3:?manager PIN (4-8 digits)}
src=$(cd "$(dirname "$0")/.." && pwd)

apt-get update -q
DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3 python3-venv sqlite3
id linli >/dev/null 2>&1 || useradd --system --home /var/lib/linli --shell /usr/sbin/nologin linli
install -d -o linli -g linli /var/lib/linli /var/lib/linli/backups
rsync -a --delete --exclude .venv --exclude .git "$src/" /opt/linli/
python3 -m venv /opt/linli/.venv
/opt/linli/.venv/bin/pip install -q /opt/linli

db=/var/lib/linli/centre.db
if [ ! -f "$db" ]; then
  sudo -u linli /opt/linli/.venv/bin/linli centre init --db "$db" --name "$name"
  sudo -u linli /opt/linli/.venv/bin/linli staff add --db "$db" --name "$manager" --role manager --pin "$pin"
fi
timedatectl set-timezone Asia/Shanghai || true
install -m 644 "$src"/deploy/linli-centre.service "$src"/deploy/linli-backup.service \
  "$src"/deploy/linli-backup.timer /etc/systemd/system/
systemctl daemon-reload
systemctl enable --now linli-centre.service linli-backup.timer
echo "Linli is running: open http://$(hostname -I | awk '{print $1}'):8000 on a tablet on the centre Wi-Fi."
