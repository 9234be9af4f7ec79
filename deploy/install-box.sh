#!/usr/bin/env bash
# Put a Linli box into service with no internet: run as root on Debian 12 / Raspberry Pi OS
# (bookworm; Python 3.11), from the unpacked offline bundle (`make bundle` makes
# dist/linli-bundle-amd64.tar.gz and dist/linli-bundle-arm64.tar.gz).
#
#   tar xzf linli-bundle-arm64.tar.gz && cd linli-bundle-arm64
#   sudo ./install-box.sh centre "金沙路社区" 小玮 1234 --mdns-name jinshalu
#   sudo ./install-box.sh hub 老周 'a long password'     # the district hub (operator optional)
#   sudo ./install-box.sh "金沙路社区" 小玮 1234           # as before: a centre
#
# Options (anywhere on the line):
#   --mdns-name NAME  announce http://NAME.local:PORT/ on the Wi-Fi (default: from the
#                     centre's name when it has Latin letters, else the host name)
#   --bundle DIR      the unpacked bundle (default: this script's folder; from a checkout,
#                     dist/linli-bundle-<arch>.tar.gz)
#   --root DIR        install everything under DIR instead of / and skip apt-get, useradd,
#                     timedatectl, udevadm and systemctl: for tests and image building,
#                     runs unprivileged. (The venv's scripts then point into DIR.)
#
# Installs: the linli user, /opt/linli/.venv (from the bundle's wheels only, every one
# checked against the lock's hashes), /var/lib/linli with the database (centre: the
# centre and its manager), /etc/default/linli, the units (server, nightly backup, USB
# backup), journald in RAM (the SD card), the time zone; enables and starts the units.
# Run it again to upgrade: the database is kept, the new venv replaces the old one.
set -euo pipefail

die() { echo "install-box: $*" >&2; exit 2; }

root="" bundle="" mdns="" args=()
while [ $# -gt 0 ]; do
  case $1 in
    --root) root=${2:?--root DIR}; shift 2 ;;
    --root=*) root=${1#*=}; shift ;;
    --bundle) bundle=${2:?--bundle DIR}; shift 2 ;;
    --bundle=*) bundle=${1#*=}; shift ;;
    --mdns-name) mdns=${2:?--mdns-name NAME}; shift 2 ;;
    --mdns-name=*) mdns=${1#*=}; shift ;;
    -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
    *) args+=("$1"); shift ;;
  esac
done
set -- "${args[@]+"${args[@]}"}"
role=centre
case ${1:-} in
  centre|hub) role=$1; shift ;;
esac
if [ "$role" = centre ]; then
  name=${1:?centre name}; manager=${2:?manager name}; pin=${3:?manager PIN (4-8 digits)}
  db_name=centre.db unit=linli-centre.service port=8000
else
  operator=${1:-}; password=${2:-}
  [ -z "$operator" ] || [ -n "$password" ] || die "hub: an operator needs a password"
  db_name=hub.db unit=linli-hub.service port=8100
fi

if [ -n "$root" ]; then
  mkdir -p "$root"; root=$(cd "$root" && pwd)
elif [ "$(id -u)" != 0 ]; then
  die "run as root (sudo), or with --root DIR to install under DIR"
fi
here=$(cd "$(dirname "$0")" && pwd)
case $(uname -m) in
  x86_64|amd64) arch=amd64 ;;
  aarch64|arm64) arch=arm64 ;;
  *) die "no bundle for $(uname -m): Linli boxes are amd64 or arm64" ;;
esac

# The bundle: this folder when unpacked, or dist/ of a checkout (unpacked to a temp folder).
if [ -z "$bundle" ]; then
  if [ -d "$here/wheels" ]; then
    bundle=$here
  elif [ -f "$here/../dist/linli-bundle-$arch.tar.gz" ]; then
    tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
    tar -xzf "$here/../dist/linli-bundle-$arch.tar.gz" -C "$tmp"
    bundle=$tmp/linli-bundle-$arch
  else
    die "no bundle: run \`make bundle\` and unpack dist/linli-bundle-$arch.tar.gz on the box"
  fi
fi
bundle=$(cd "$bundle" && pwd)
[ -f "$bundle/BUNDLE" ] && [ -d "$bundle/wheels" ] || die "$bundle is not a Linli bundle"
bundle_arch=$(sed -n 's/^arch=//p' "$bundle/BUNDLE")
[ "$bundle_arch" = "$arch" ] || die "this bundle is for $bundle_arch; this box is $arch"
(cd "$bundle" && sha256sum --quiet -c SHA256SUMS) || die "the bundle is damaged (SHA256SUMS)"

# Debian 12 has Python 3.11; the venv is made without ensurepip (python3-venv is not
# needed) and pip runs from the bundle's own pip wheel.
python=${PYTHON:-python3}
if ! command -v "$python" >/dev/null 2>&1 && [ -z "$root" ]; then
  apt-get install -y -q python3 || die "python3 is missing and apt-get could not install it"
fi
"$python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' \
  || die "the bundle is for Python 3.11 (Debian 12); $python is $("$python" -V 2>&1)"

as_linli() {
  if [ -n "$root" ]; then "$@"; else runuser -u linli -- "$@"; fi
}

if [ -z "$root" ]; then
  id linli >/dev/null 2>&1 \
    || useradd --system --home-dir /var/lib/linli --shell /usr/sbin/nologin linli
  install -d -o linli -g linli -m 750 /var/lib/linli /var/lib/linli/backups
else
  install -d -m 750 "$root/var/lib/linli" "$root/var/lib/linli/backups"
fi

# A new venv beside the old one, then an atomic switch of the .venv link: a failed
# upgrade leaves the running box as it was. The same bundle again: the venv is kept.
opt=$root/opt/linli
bundle_id=$(sha256sum "$bundle/SHA256SUMS" | cut -d' ' -f1)
install -d -m 755 "$opt" "$opt/bin"
if [ "$(cat "$opt/.venv/.linli-bundle" 2>/dev/null)" = "$bundle_id" ] \
  && "$opt/.venv/bin/linli" --help >/dev/null 2>&1; then
  echo "install-box: the venv is already from this bundle; kept"
else
  # Only the bundle: no pip.conf or PIP_* setting of this machine may add an index.
  export PIP_CONFIG_FILE=/dev/null
  unset PIP_INDEX_URL PIP_EXTRA_INDEX_URL PIP_FIND_LINKS PIP_CONSTRAINT PIP_REQUIREMENT
  stamp=$(date +%Y%m%d%H%M%S)
  venv=$opt/venv-$stamp
  "$python" -m venv --without-pip "$venv"
  pip_whl=$(ls "$bundle"/wheels/pip-*.whl | head -n1)
  "$venv/bin/python" "$pip_whl/pip" install --quiet --no-index --no-cache-dir \
    --disable-pip-version-check --find-links "$bundle/wheels" --require-hashes \
    -r "$bundle/requirements.txt"
  "$venv/bin/pip" install --quiet --no-index --no-cache-dir --disable-pip-version-check \
    --find-links "$bundle/wheels" --no-deps --require-hashes -r "$bundle/linli.txt"
  "$venv/bin/linli" --help >/dev/null
  echo "$bundle_id" >"$venv/.linli-bundle"
  if [ -d "$opt/.venv" ] && [ ! -L "$opt/.venv" ]; then
    rm -rf "$opt/.venv"  # the layout before the bundle: a venv inside a checkout copy
  fi
  ln -sfn "venv-$stamp" "$opt/.venv.new" && mv -Tf "$opt/.venv.new" "$opt/.venv"
  for old in $(cd "$opt" && ls -d venv-* 2>/dev/null | sort -r | tail -n +3); do
    rm -rf "${opt:?}/$old"  # keep this one and the one before, for a rollback
  done
fi
install -m 755 "$bundle/deploy/usb-backup.sh" "$opt/bin/usb-backup.sh"
linli=$opt/.venv/bin/linli

db=$root/var/lib/linli/$db_name
if [ "$role" = centre ]; then
  if [ ! -f "$db" ]; then
    as_linli "$linli" centre init --db "$db" --name "$name"
    as_linli "$linli" staff add --db "$db" --name "$manager" --role manager --pin "$pin"
  fi
  if [ -z "$mdns" ]; then
    mdns=$(printf '%s' "$name" | LC_ALL=C tr -c 'A-Za-z0-9' '-' | tr 'A-Z' 'a-z' \
      | sed 's/--*/-/g; s/^-//; s/-$//' | cut -c1-63)
    [ -n "$mdns" ] || mdns=auto  # a Chinese name: the host name (give --mdns-name)
  fi
else
  if [ -n "$operator" ]; then
    as_linli "$linli" hub add-operator --db "$db" --name "$operator" --password "$password" \
      --role supervisor || echo "install-box: operator $operator not added (exists?)" >&2
  fi
  [ -n "$mdns" ] || mdns=linli-hub
fi

# Settings the units read; kept on upgrade except the lines written here.
install -d -m 755 "$root/etc/default"
cat >"$root/etc/default/linli" <<EOF
# Linli box settings, read by the linli units. After a change: systemctl restart $unit
LINLI_ROLE=$role
LINLI_DB=/var/lib/linli/$db_name
# The box's name on the Wi-Fi, http://<name>.local:$port/ ("auto": from the host name;
# "off": not announced)
LINLI_MDNS_NAME=$mdns
EOF

install -d -m 755 "$root/etc/systemd/system" "$root/etc/systemd/journald.conf.d" \
  "$root/etc/udev/rules.d"
install -m 644 "$bundle/deploy/$unit" "$bundle/deploy/linli-backup.service" \
  "$bundle/deploy/linli-backup.timer" "$bundle/deploy/linli-usb-backup@.service" \
  "$root/etc/systemd/system/"
install -m 644 "$bundle/deploy/journald-linli.conf" "$root/etc/systemd/journald.conf.d/linli.conf"
install -m 644 "$bundle/deploy/99-linli-usb.rules" "$root/etc/udev/rules.d/99-linli-usb.rules"

if [ -n "$root" ]; then
  echo "installed the $role box under $root (no services started: --root)"
  exit 0
fi

timedatectl set-timezone Asia/Shanghai || true
systemctl restart systemd-journald || true
udevadm control --reload || true
systemctl daemon-reload
systemctl enable "$unit" linli-backup.timer
systemctl restart "$unit"
systemctl start linli-backup.timer
ip=$(hostname -I 2>/dev/null | awk '{print $1}')
[ "$mdns" = auto ] && mdns=$(hostname -s)
echo "Linli ($role) is running: open http://$mdns.local:$port/ or http://${ip:-<this box>}:$port/"
if [ "$role" = centre ]; then
  echo "on a tablet on the centre Wi-Fi. Sign in as $manager and print the poster: /poster"
fi
