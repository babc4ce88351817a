#!/usr/bin/env bash
# One-step setup on Debian 12 / Raspberry Pi OS Bookworm: system packages,
# a virtualenv in .venv with the kiosk installed, and the spoken prompts.
#   provisioning/setup.sh          kiosk + demo extras
#   provisioning/setup.sh --test   also the test tools (and pcscd + vpcd virtual readers)
# On a Pi the PC/SC extra (pyscard, pcscd, CCID driver) comes too.
# Exit 3: a Pi whose apt sources lack the Raspberry Pi archive (Debian 12
# rather than Raspberry Pi OS); KIOSK_NO_PI_ARCHIVE=1 goes on without it.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="kiosk,demo"
testing=false
if [ "${1:-}" = "--test" ]; then extras="test"; testing=true; fi

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"

apt_packages=(
  python3-venv python3-dev gcc
  # OpenCV (mediapipe's cv2) links libgthread: no import without it on a bare Debian 12
  libglib2.0-0
  # Kivy's SDL2 window on Mesa (also headless: offscreen EGL or Xvfb)
  libgl1 libegl1 libgles2 libgl1-mesa-dri libmtdev1 xvfb xauth
  # Simplified Chinese font for every label
  fonts-wqy-microhei
  # spoken prompts are generated with espeak-ng
  espeak-ng
)
# Only in the Raspberry Pi archive (Pi OS has it; Debian 12 installed on a Pi
# does not, and apt-get install would stop on them).
pi_archive_only=(python3-picamera2 python3-lgpio)
# After apt-get update: drop from `missing` the Pi archive's packages apt has
# no candidate for when KIOSK_NO_PI_ARCHIVE=1, else say what to do and exit 3.
check_pi_archive() {
  local absent=() keep=() p
  for p in "${pi_archive_only[@]}"; do
    apt-cache policy "$p" 2>/dev/null | grep -q '^ *Candidate: [^(]' || absent+=("$p")
  done
  [ ${#absent[@]} -eq 0 ] && return 0
  if [ "${KIOSK_NO_PI_ARCHIVE:-0}" != 1 ]; then
    echo "setup: ${absent[*]} not in the apt sources (Debian, not Raspberry Pi OS?): add the Raspberry Pi archive, or set KIOSK_NO_PI_ARCHIVE=1 to go on with a USB camera (docs/booth-install.md)" >&2
    exit 3
  fi
  echo "setup: going on without ${absent[*]} (KIOSK_NO_PI_ARCHIVE=1): camera.backend = \"opencv\" (a USB camera)" >&2
  for p in "${missing[@]}"; do
    [[ " ${absent[*]} " == *" $p "* ]] || keep+=("$p")
  done
  missing=("${keep[@]}")
}
on_pi=false
if grep -qi "raspberry pi" /proc/device-tree/model 2>/dev/null; then
  on_pi=true
  apt_packages+=("${pi_archive_only[@]}")
  # USB contactless readers (ACR122U, ACR1252U) use the CCID driver; named
  # so it is there whatever satisfies pcscd's "libccid | pcsc-ifd-handler".
  apt_packages+=(libccid)
  extras="${extras},pcsc"
fi
if $on_pi || $testing; then
  # pyscard has no aarch64 wheel: pip builds it (about a minute on a Pi 4)
  # with gcc and libpcsclite-dev; pcscd is the PC/SC service.
  apt_packages+=(libpcsclite-dev libpcsclite1 pcscd)
fi
if $testing; then
  # Virtual readers (127.0.0.1:35963) for tests/kiosk/hardware/test_pcsc_reader.py. Not on a
  # booth: they would be listed before the real reader.
  apt_packages+=(vsmartcard-vpcd)
  # The province configuration's tests start a real PostgreSQL; the
  # power-cut test mounts a FUSE filesystem.
  apt_packages+=(postgresql fuse3 libfuse3-3)
  # sox reads the spoken prompts back independently of our own WAV code.
  apt_packages+=(sox)
  # The booth's shell scripts and unit are checked by shellcheck and systemd-analyze.
  apt_packages+=(shellcheck systemd)
  # The real booth install is tested in a Debian root it makes (tests/deploy/test_booth_install_chroot.py).
  apt_packages+=(debootstrap)
  # The school office's pages are tested in a real headless browser
  # (Playwright drives Debian's chromium; its own browser download is not used).
  apt_packages+=(chromium)
  # The shipped reverse-proxy configuration runs in a real nginx (tests/deploy/test_nginx.py;
  # openssl makes its throwaway certificate).
  apt_packages+=(nginx openssl)
fi
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  $SUDO apt-get update -qq
  if $on_pi; then check_pi_archive; fi
fi
if [ ${#missing[@]} -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
  # The tests run nginx of their own; the package's service (Debian's page on port 80) is not wanted.
  if [[ " ${missing[*]} " == *" nginx "* ]] && command -v systemctl >/dev/null; then
    $SUDO systemctl disable --now nginx >/dev/null 2>&1 || true
  fi
fi

PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
if [ ! -x .venv/bin/python ]; then
  if $on_pi; then
    # picamera2 and lgpio live in the system site-packages on the Pi.
    "$PY" -m venv --system-site-packages .venv
  else
    "$PY" -m venv .venv
  fi
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[${extras}]"
.venv/bin/kiosk make-prompts >/dev/null || echo "warning: spoken prompts not generated" >&2
