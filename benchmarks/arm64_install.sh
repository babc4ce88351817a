#!/usr/bin/env bash
# shellcheck disable=SC2317  # the steps are functions run through timed()
# The booth install on arm64, measured: in an emulated Debian 12 arm64 root
# (PRoot + qemu user mode; no binfmt_misc needed) it runs install-booth.sh
# twice (the second run must change nothing), a headless session as the
# kiosk user, kiosk check-config and kiosk doctor, then prints the times,
# the sizes and what changed between the runs. Too slow for CI (about 15
# minutes on 2 cores, plus about 6 the first time for the root): run it when
# provisioning/ or the dependencies change and put its result in
# docs/booth-install.md.
#   benchmarks/arm64_install.sh          (as root, on an x86-64 Debian 12)
# PROOT_SRC: a clone (path or URL) of proot-me/proot, 5.4.0 or later; needed
#   the first time only (Debian's proot 5.1.0 cannot run the root).
# A64_CACHE (default /var/tmp/photo-kiosk-a64): proot, the debootstrapped base
#   root (kept) and the trial root (made anew from it each run).
# Exit 0 when every step passed, 1 when one failed, 2 when it cannot start.
set -euo pipefail
# In braces: bash reads the whole script before running it, so editing the
# file during a run (it is a long one) does not change that run.
{
project="$(cd "$(dirname "$0")/.." && pwd)"
cache="${A64_CACHE:-/var/tmp/photo-kiosk-a64}"
base="$cache/base" trial="$cache/trial" logs="$cache/logs"
proot="$cache/proot"
die() { echo "arm64_install: $2" >&2; exit "$1"; }
[ "$(id -u)" -eq 0 ] || die 2 "run as root (debootstrap, and the root's files keep their owners)"
[ "$(uname -m)" = x86_64 ] || die 2 "made for an x86-64 host (uname -m says $(uname -m))"
mkdir -p "$cache" "$logs"

results=()
note() { results+=("$*"); echo "arm64_install: $*"; }
failed=0
fail() { note "FAILED: $*"; failed=1; }

tools=(qemu-user-static debootstrap libtalloc-dev uthash-dev pkg-config git gcc make)
missing=()
for p in "${tools[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# PRoot from source, with the one fix the root's systemd needs: readlinkat(fd, "")
# (systemd-tmpfiles' 'L' lines) resolves the descriptor's own path.
if [ ! -x "$proot" ]; then
  [ -n "${PROOT_SRC:-}" ] || die 2 "set PROOT_SRC to a clone of proot-me/proot (5.4.0 or later) to build proot once"
  rm -rf "$cache/proot-src"
  git clone -q "$PROOT_SRC" "$cache/proot-src"
  python3 - "$cache/proot-src/src/syscall/exit.c" <<'PY'
import sys
p = sys.argv[1]; s = open(p).read()
old = '''		if (status >= PATH_MAX) {
			status = -ENAMETOOLONG;
			break;
		}
'''
i = s.index(old, s.index('case PR_readlinkat: {')) + len(old)
s = s[:i] + '''
		if (referer[0] == '\\0' && syscall_number == PR_readlinkat) {
			status = readlink_proc_pid_fd(tracee->pid, (int) peek_reg(tracee, ORIGINAL, SYSARG_1), referer);
			if (status < 0)
				break;
			if (referer[0] != '/')
				goto end;
		}
''' + s[i:]
open(p, 'w').write(s)
PY
  make -C "$cache/proot-src/src" proot CARE_LDFLAGS= >"$logs/proot-build.log" 2>&1 \
    || die 1 "proot did not build: $logs/proot-build.log"
  cp "$cache/proot-src/src/proot" "$proot"
fi

# A shell in a root ($1): a clean environment, W = working folder inside.
# proot -0 fakes root's privileges (apt, dpkg); with FAKE_ROOT=0 the host's
# root runs the command instead, so runuser really drops to the kiosk user.
in_root() {
  local root="$1"; shift
  local fake=(-0)
  [ "${FAKE_ROOT-1}" = 1 ] || fake=()
  local bind=()
  [ -z "${BIND:-}" ] || bind=(-b "$BIND")
  "$proot" -q qemu-aarch64-static "${fake[@]}" -r "$root" -b /dev -b /proc -b /sys "${bind[@]}" -w "${W:-/}" \
    /usr/bin/env -i HOME=/root LANG=C.UTF-8 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PIP_CERT=/etc/ssl/host-ca-bundle.crt SSL_CERT_FILE=/etc/ssl/host-ca-bundle.crt "$@"
}
# Run a step, log its output to $logs/NAME.log, time it.
timed() {
  local name="$1" start=$SECONDS rc=0; shift
  "$@" >"$logs/$name.log" 2>&1 || rc=$?
  note "$name: $((SECONDS - start)) s, exit $rc"
  return "$rc"
}

# The base root: debootstrap once (stage 2 emulated), with the host's apt sources.
if [ ! -f "$base/.complete" ]; then
  mirror=$({ grep -rhoE 'https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null \
    || true; } | head -n1 | tr -d ' ')
  [ -n "$mirror" ] || die 2 "no Debian mirror in /etc/apt/sources.list*"
  rm -rf "$base"
  timed debootstrap-stage1 debootstrap --arch=arm64 --foreign bookworm "$base" "$mirror" \
    || die 1 "debootstrap failed: $logs/debootstrap-stage1.log"
  rm "$base/proc" && mkdir "$base/proc"  # debootstrap leaves /proc as a symlink
  timed debootstrap-stage2 in_root "$base" /debootstrap/debootstrap --second-stage \
    || die 1 "debootstrap's second stage failed: $logs/debootstrap-stage2.log"
  cp /etc/resolv.conf "$base/etc/resolv.conf"
  cp -r /etc/apt/sources.list* "$base/etc/apt/"
  # where HTTPS goes through an intercepting proxy, pip needs the host's CA bundle
  mkdir -p "$base/etc/ssl"
  cp /etc/ssl/certs/ca-certificates.crt "$base/etc/ssl/host-ca-bundle.crt"
  touch "$base/.complete"
fi

packages_before=$(in_root "$base" dpkg-query -W -f='.\n' | wc -l)
# A64_SKIP_INSTALL=1: keep the trial root a previous run installed and run
# only the steps after the installs (the session, doctor, plain Debian).
if [ -n "${A64_SKIP_INSTALL:-}" ]; then
  [ -x "$trial/opt/photo-kiosk/.venv/bin/kiosk" ] || die 2 "A64_SKIP_INSTALL: no installed trial root in $trial"
  note "project: the trial root installed by an earlier run (A64_SKIP_INSTALL)"
else
# The trial root: the base afresh, and the project as a checkout (HEAD plus
# uncommitted changes to tracked files; untracked files are not taken).
rm -rf "$trial"
cp -a "$base" "$trial"
snapshot_id="$(git -C "$project" stash create 2>/dev/null || true)"
mkdir -p "$trial/opt/kiosk-src"
git -C "$project" archive "${snapshot_id:-HEAD}" | tar -C "$trial/opt/kiosk-src" -xf -
note "project: $(git -C "$project" rev-parse --short HEAD)${snapshot_id:+ with uncommitted changes}"

# What the install touches: mode, owner and content (sha256 or link target).
# Not __pycache__: pip rewrites its editable finder (same content, new mtime)
# on every run, and the finder's .pyc records that mtime.
snapshot() {
  python3 - "$trial" <<'PY'
import hashlib, os, sys
from pathlib import Path
root = Path(sys.argv[1])
for top in ("etc", "opt/photo-kiosk", "var/lib/photo-kiosk"):
    for path in sorted((root / top).rglob("*")):
        if "__pycache__" in path.parts:
            continue
        st = path.lstat()
        if path.is_symlink():
            what = "-> " + os.readlink(path)
        elif path.is_file():
            what = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        else:
            what = "dir"
        print(f"{path.relative_to(root)}\t{oct(st.st_mode)}\t{st.st_uid}:{st.st_gid}\t{what}")
PY
}
# demo-centre: the demo roster's centre, so that the scripted session's student is on it
install_booth() {
  W=/opt/kiosk-src in_root "$trial" KIOSK_NO_START=1 /bin/bash provisioning/install-booth.sh \
    --kiosk-id booth-07 --centre demo-centre
}

timed install-1 install_booth || fail "the first install-booth.sh: $logs/install-1.log"
snapshot >"$logs/snapshot-1.txt"
conf="$trial/etc/photo-kiosk/kiosk.toml"
pin_1="$(grep -o 'staff_pin = "[0-9]*"' "$conf" 2>/dev/null || true)"
timed install-2 install_booth || fail "the second install-booth.sh: $logs/install-2.log"
snapshot >"$logs/snapshot-2.txt"
pin_2="$(grep -o 'staff_pin = "[0-9]*"' "$conf" 2>/dev/null || true)"

changed="$(diff "$logs/snapshot-1.txt" "$logs/snapshot-2.txt" | grep '^[<>]' || true)"
if [ -z "$changed" ]; then
  note "second run: nothing changed ($(wc -l <"$logs/snapshot-1.txt") files and folders compared: mode, owner, content)"
else
  fail "second run changed $(grep -c '^>' <<<"$changed") entries (first 20; all in $logs/):"
  head -n 20 <<<"$changed"
fi
if [ -n "$pin_1" ] && [ "$pin_1" = "$pin_2" ]; then
  note "config and staff PIN kept"
else
  fail "staff PIN not kept ('$pin_1' then '$pin_2')"
fi
made='^install-booth: .*\(created\|staff PIN\)'
if grep -q "$made" "$logs/install-2.log"; then
  fail "the second run made something anew: $(grep "$made" "$logs/install-2.log" | head -3)"
fi
fi

# The app as the unit runs it: the kiosk user, from /opt/photo-kiosk, every
# device simulated (--demo), no window (headless).
as_kiosk() {
  W=/opt/photo-kiosk FAKE_ROOT=0 in_root "$trial" /usr/sbin/runuser -u kiosk -- /usr/bin/env \
    HOME=/var/lib/photo-kiosk KIVY_HOME=/var/lib/photo-kiosk/kivy KIOSK_CONFIG=/etc/photo-kiosk/kiosk.toml "$@"
}
outbox_count() { find "$trial/var/lib/photo-kiosk/data" -type f -name '*.jpg' 2>/dev/null | wc -l; }
photos_before=$(outbox_count)
# The first import of the face model's library builds matplotlib's font cache
# (mediapipe imports it) in the kiosk user's home: once per booth, and ten
# times slower emulated, so measured on its own rather than inside the
# session's 20-second steps.
timed warm-up as_kiosk /opt/photo-kiosk/.venv/bin/python -c "import mediapipe" \
  || fail "importing mediapipe as the kiosk user: $logs/warm-up.log"
timed check-config as_kiosk /opt/photo-kiosk/.venv/bin/kiosk check-config /etc/photo-kiosk/kiosk.toml \
  || fail "kiosk check-config as the kiosk user: $logs/check-config.log"
# The happy path, with every step given 300 s instead of its 20-40: the
# emulated CPU is about ten times slower than a Pi's, and loading the face
# model alone outlasts the step from the 采集码 to the pose guidance.
sed -E 's/^(expect [a-z_]+)( [0-9.]+)?$/\1 300/; s/^expect_stored( [0-9.]+)?$/expect_stored 300/' \
  "$trial/opt/kiosk-src/tests/scripts/happy_path.txt" >"$trial/opt/kiosk-src/tests/scripts/happy_path_emulated.txt"
timed session as_kiosk /opt/photo-kiosk/.venv/bin/kiosk run --demo --headless \
  --script /opt/kiosk-src/tests/scripts/happy_path_emulated.txt || fail "the headless session: $logs/session.log"
photos_after=$(outbox_count)
if [ "$photos_after" -gt "$photos_before" ]; then
  note "the session stored $((photos_after - photos_before)) photo file(s) in /var/lib/photo-kiosk/data"
else
  fail "the session stored no photo in /var/lib/photo-kiosk/data"
fi
owners="$(find "$trial/var/lib/photo-kiosk/data" -newer "$logs/snapshot-2.txt" ! -user "$(stat -c %u "$trial/var/lib/photo-kiosk/data")" | head -3)"
[ -z "$owners" ] || fail "files the session wrote are not the kiosk user's: $owners"
# Exit 1 is expected here: the root's clock is not NTP-synchronised and its
# backdrop was never calibrated. The devices (simulated) must all answer.
timed doctor-demo as_kiosk /opt/photo-kiosk/.venv/bin/kiosk doctor --demo || true
devices_ok=$(grep -c '^\[ok\]' "$logs/doctor-demo.log" || true)
if [ "$devices_ok" -ge 5 ] && ! grep -q Traceback "$logs/doctor-demo.log"; then
  note "kiosk doctor --demo: camera, lamps, LED, reader and disk ok ($devices_ok checks ok)"
else
  fail "kiosk doctor --demo: $devices_ok checks ok, not 5: $logs/doctor-demo.log"
fi
# The booth's own config names real devices, which the root does not have: shown, not judged.
timed doctor-booth as_kiosk /opt/photo-kiosk/.venv/bin/kiosk doctor || true
# ... but it must answer in lines, never a traceback (lgpio failed to load here
# from a folder the kiosk user cannot write: kiosk/hardware/gpio.py).
if grep -q Traceback "$logs/doctor-booth.log"; then
  fail "kiosk doctor with the booth's config ended in a traceback: $logs/doctor-booth.log"
fi

# Debian 12 on a Pi: setup.sh, shown a Pi's device-tree model, finds no
# Raspberry Pi archive in Debian's apt sources and says so before apt-get install.
echo "Raspberry Pi 4 Model B Rev 1.5" >"$cache/pi-model"
plain_debian_pi() {
  W=/opt/photo-kiosk BIND="$cache/pi-model:/proc/device-tree/model" in_root "$trial" provisioning/setup.sh
}
rc=0
timed plain-debian-pi plain_debian_pi || rc=$?
if [ "$rc" = 3 ] && grep -q "add the Raspberry Pi archive" "$logs/plain-debian-pi.log"; then
  note "plain Debian on a Pi: setup.sh says: $(tail -n 1 "$logs/plain-debian-pi.log")"
else
  fail "plain Debian on a Pi: setup.sh exit $rc, not 3 with what to do: $logs/plain-debian-pi.log"
fi

packages_after=$(in_root "$trial" dpkg-query -W -f='.\n' | wc -l)
note "apt packages: $packages_before in the base root, $((packages_after - packages_before)) added by the install"
note "sizes: /opt/photo-kiosk $(du -sh "$trial/opt/photo-kiosk" | cut -f1) (its .venv $(du -sh "$trial/opt/photo-kiosk/.venv" | cut -f1)), the whole root $(du -sh "$trial" | cut -f1)"
note "shipped: $(find "$trial/opt/photo-kiosk" -mindepth 1 -maxdepth 1 ! -name .venv ! -name var -printf '%f ')"
note "logs: $logs"

echo
echo "== arm64 booth install, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores =="
printf '%s\n' "${results[@]}"
echo "== kiosk doctor --demo (as kiosk) =="
tail -n 15 "$logs/doctor-demo.log"
echo "== kiosk doctor with the booth's config (no devices in the root) =="
tail -n 15 "$logs/doctor-booth.log"
exit "$failed"
}
