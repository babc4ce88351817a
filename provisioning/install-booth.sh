#!/usr/bin/env bash
# Turn a fresh Raspberry Pi OS Lite (Bookworm, 64-bit) into a running booth,
# in one command, as root, from a checkout or release tarball:
#
#   provisioning/install-booth.sh [--kiosk-id ID] [--centre CENTRE]
#       [--server URL --server-key KEY --enrol-code CODE]
#       [--data-partition DEVICE] [--read-only-root]
#
# What it does, each step only if not done yet (running it again changes nothing):
#  - apt packages, the app in /opt/photo-kiosk with its venv (setup.sh:
#    python3-picamera2 and python3-lgpio from apt through --system-site-packages);
#  - the 'kiosk' service user, and the groups the unit needs (gpio, video, ...);
#  - /etc/photo-kiosk/kiosk.toml for the booth's hardware (kept if present),
#    with a random staff PIN printed once;
#  - enrolment with the school server by a one-time code (`photo-server enrol-code`);
#  - the systemd unit (watchdog), the hardware watchdog, journald in RAM, the USB rule;
#  - optionally the capture store on its own partition (--data-partition, by
#    UUID in /etc/fstab) and a read-only root (overlayfs, raspi-config):
#    only /var/lib/photo-kiosk (the store) is then written to.
# KIOSK_NO_START=1: enable the unit but do not start it (an image being built, a chroot).
# KIOSK_NO_PI_ARCHIVE=1: Debian 12 on a Pi without the Raspberry Pi archive
#   (setup.sh stops with exit 3 otherwise): no picamera2, a USB camera instead.
set -euo pipefail

kiosk_id="" centre="" server="" server_key="" code="" data_partition="" read_only=false
usage() {
  sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}
while [ $# -gt 0 ]; do
  case "$1" in
    --kiosk-id) kiosk_id="${2:?}"; shift 2 ;;
    --centre) centre="${2:?}"; shift 2 ;;
    --server) server="${2:?}"; shift 2 ;;
    --server-key) server_key="${2:?}"; shift 2 ;;
    --enrol-code) code="${2:?}"; shift 2 ;;
    --data-partition) data_partition="${2:?}"; shift 2 ;;
    --read-only-root) read_only=true; shift ;;
    -h|--help) usage ;;
    *) echo "install-booth: unknown option $1" >&2; usage ;;
  esac
done
if [ "$(id -u)" -ne 0 ]; then
  echo "install-booth: run as root (sudo $0 ...)" >&2
  exit 2
fi
if [ -n "$code" ] && { [ -z "$server" ] || [ -z "$server_key" ]; }; then
  echo "install-booth: --enrol-code needs --server and --server-key" >&2
  exit 2
fi

src="$(cd "$(dirname "$0")/.." && pwd)"
app=/opt/photo-kiosk
home=/var/lib/photo-kiosk
conf=/etc/photo-kiosk/kiosk.toml
say() { echo "install-booth: $*"; }

# Groups the unit's SupplementaryGroups= names: a missing one stops the
# service with 216/GROUP. Pi OS has them all; a plain Debian lacks gpio.
for group in video gpio dialout render input audio; do
  getent group "$group" >/dev/null || { groupadd --system "$group"; say "group $group created"; }
done
if ! id kiosk >/dev/null 2>&1; then
  useradd --system --home-dir "$home" --no-create-home --shell /usr/sbin/nologin kiosk
  say "user kiosk created"
fi

# The store: on its own partition when asked (a read-only root keeps it writable).
install -d -m 0700 "$home"
if [ -n "$data_partition" ]; then
  uuid="$(blkid -s UUID -o value "$data_partition")"
  if [ -z "$uuid" ]; then
    echo "install-booth: $data_partition has no filesystem (mkfs.ext4 -L kiosk-data $data_partition first)" >&2
    exit 1
  fi
  if ! grep -q "^UUID=$uuid " /etc/fstab; then
    echo "UUID=$uuid $home ext4 defaults,noatime,commit=5 0 2" >>/etc/fstab
    say "store partition $data_partition added to /etc/fstab"
  fi
  mountpoint -q "$home" || mount "$home"
fi
install -d -o kiosk -g kiosk -m 0700 "$home" "$home/data" "$home/kivy"

# The app: source only, never the checkout's var/ (demo captures would reach the outbox).
# copy-tree.sh reads pyproject.toml with python3, which a minimal Debian lacks.
if ! command -v python3 >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3
fi
"$src/provisioning/copy-tree.sh" "$src" "$app"
install -d -o kiosk -g kiosk -m 0700 "$app/var"
(cd "$app" && provisioning/setup.sh)
chown -R kiosk:kiosk "$app/var"

# The booth's config: written once, then it is the centre's to edit.
camera=picamera2
[ "${KIOSK_NO_PI_ARCHIVE:-0}" = 1 ] && camera=opencv
if [ ! -f "$conf" ]; then
  install -d -m 0750 -g kiosk /etc/photo-kiosk
  pin="$(shuf -i 100000-999999 -n 1)"
  umask 0027
  cat >"$conf" <<EOF
# This booth's settings; every key and its default: $app/examples/kiosk.toml
[kiosk]
id = "${kiosk_id:-$(hostname)}"
centre = "${centre:-demo-centre}"
data_dir = "$home/data"
staff_pin = "$pin"

[screen]
fullscreen = true

[camera]
backend = "$camera"

[id_reader]
backend = "sam"

[gpio]
pin_factory = "lgpio"

[sync]
server_url = "$server"
server_public_key = "$server_key"
EOF
  umask 0022
  chgrp kiosk "$conf"
  chmod 0640 "$conf"
  say "config written to $conf; staff PIN: $pin (write it down; change it there)"
fi
# From $app, as the unit runs it (WorkingDirectory=): the config's relative
# paths (the roster) are read from there, wherever this script was started.
cd "$app"
"$app/.venv/bin/kiosk" check-config "$conf" >/dev/null

# Enrolment: the one-time code is spent once; the token stays in the store.
if [ -n "$code" ] && [ ! -s "$home/data/sync.token" ]; then
  runuser -u kiosk -- "$app/.venv/bin/kiosk" --config "$conf" enrol --server "$server" --code "$code"
fi

# systemd: the unit, the hardware watchdog, a journal in RAM (read at the
# next boot; the watchdog one by `systemctl daemon-reexec` too), the USB rule.
install -m 0644 "$src/systemd/photo-kiosk.service" /etc/systemd/system/photo-kiosk.service
install -D -m 0644 "$src/systemd/system.conf.d/photo-kiosk-watchdog.conf" /etc/systemd/system.conf.d/photo-kiosk-watchdog.conf
install -D -m 0644 "$src/systemd/journald.conf.d/photo-kiosk.conf" /etc/systemd/journald.conf.d/photo-kiosk.conf
# Staff mode's USB button: a stick plugged in is mounted at /media/kiosk-usb.
install -D -m 0644 "$src/provisioning/99-photo-kiosk-usb.rules" /etc/udev/rules.d/99-photo-kiosk-usb.rules
udevadm control --reload-rules 2>/dev/null || true
systemctl daemon-reload 2>/dev/null || true
systemctl enable photo-kiosk.service
if [ "${KIOSK_NO_START:-0}" != "1" ]; then
  systemctl restart photo-kiosk.service
fi

# Read-only root last: from the next boot on, only the store is written.
if $read_only; then
  if [ -z "$data_partition" ] && ! grep -q " $home " /etc/fstab; then
    echo "install-booth: --read-only-root needs --data-partition (the store must stay writable)" >&2
    exit 2
  fi
  if command -v raspi-config >/dev/null; then
    raspi-config nonint enable_overlayfs
    say "read-only root on from the next boot (raspi-config nonint disable_overlayfs to update)"
  else
    echo "install-booth: --read-only-root needs raspi-config (Raspberry Pi OS)" >&2
    exit 1
  fi
fi
say "booth installed: systemctl status photo-kiosk; kiosk doctor checks the hardware"
