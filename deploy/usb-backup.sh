#!/bin/sh
# Mount a USB stick under /media for the linli user and back the database up to it now;
# `stop` unmounts it. Run by linli-usb-backup@<partition>.service (as root).
#   usb-backup.sh start sda1 | usb-backup.sh stop sda1
set -eu
action=${1:?start or stop}; part=${2:?partition, e.g. sda1}
dev=/dev/$part; mnt=/media/linli-usb-$part
db=${LINLI_DB:-/var/lib/linli/centre.db}
case $action in
start)
  # The box's own disks (booted from USB) are mounted already: never touch them.
  if findmnt -rn -S "$dev" >/dev/null 2>&1; then echo "$dev is mounted already: skipped"; exit 0; fi
  fstype=$(blkid -o value -s TYPE "$dev" || true)
  uid=$(id -u linli); gid=$(id -g linli)
  case $fstype in
    vfat) opts="uid=$uid,gid=$gid,umask=027,flush" ;;
    exfat) opts="uid=$uid,gid=$gid,umask=027" ;;
    ext2|ext3|ext4|btrfs|f2fs) opts="" ;;
    *) echo "$dev: ${fstype:-no file system} is not used for backups"; exit 0 ;;
  esac
  mkdir -p "$mnt"
  mount -t "$fstype" -o "nosuid,nodev,noexec${opts:+,$opts}" "$dev" "$mnt"
  case $fstype in ext*|btrfs|f2fs) install -d -o linli -g linli "$mnt/linli-backups" ;; esac
  runuser -u linli -- /opt/linli/.venv/bin/linli backup --db "$db" --usb --media "$mnt" --keep 14
  ;;
stop)
  umount -l "$mnt" 2>/dev/null || true
  rmdir "$mnt" 2>/dev/null || true
  ;;
*) echo "usage: $0 start|stop PARTITION" >&2; exit 2 ;;
esac
