#!/usr/bin/env bash
# Turn a Raspberry Pi OS (Bookworm) machine into a booth: run as root from a
# checkout. Installs into /opt/photo-kiosk, creates the 'kiosk' user, puts the
# config in /etc/photo-kiosk/kiosk.toml (kept if present) and enables the unit.
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"
# Groups the unit's SupplementaryGroups= names: a missing one stops the
# service with 216/GROUP. Pi OS has them all; a plain Debian lacks gpio.
for group in video gpio dialout render input audio; do
  getent group "$group" >/dev/null || groupadd --system "$group"
done
id kiosk >/dev/null 2>&1 || useradd --system --create-home --home-dir /var/lib/photo-kiosk kiosk
install -d -o kiosk -g kiosk -m 0700 /var/lib/photo-kiosk /var/lib/photo-kiosk/kivy
install -d -m 0755 /etc/photo-kiosk
# The source only: never the checkout's var/ (demo captures would reach the outbox).
"$src/provisioning/copy-tree.sh" "$src" /opt/photo-kiosk
install -d -o kiosk -g kiosk -m 0700 /opt/photo-kiosk/var
[ -f /etc/photo-kiosk/kiosk.toml ] || install -m 0640 -g kiosk "$src/examples/kiosk.toml" /etc/photo-kiosk/kiosk.toml
(cd /opt/photo-kiosk && provisioning/setup.sh)
chown -R kiosk:kiosk /opt/photo-kiosk/var
install -m 0644 "$src/systemd/photo-kiosk.service" /etc/systemd/system/photo-kiosk.service
# The hardware watchdog and a journal in RAM (read at the next boot; the
# watchdog one by `systemctl daemon-reexec` too).
install -D -m 0644 "$src/systemd/system.conf.d/photo-kiosk-watchdog.conf" /etc/systemd/system.conf.d/photo-kiosk-watchdog.conf
install -D -m 0644 "$src/systemd/journald.conf.d/photo-kiosk.conf" /etc/systemd/journald.conf.d/photo-kiosk.conf
# Staff mode's USB button: a stick plugged in is mounted at /media/kiosk-usb.
install -m 0644 "$src/provisioning/99-photo-kiosk-usb.rules" /etc/udev/rules.d/99-photo-kiosk-usb.rules
udevadm control --reload-rules || true
systemctl daemon-reload
systemctl enable --now photo-kiosk.service
echo "Booth installed. Edit /etc/photo-kiosk/kiosk.toml (backends, pins, PIN), then: systemctl restart photo-kiosk"
