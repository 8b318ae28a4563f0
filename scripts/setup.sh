#!/usr/bin/env bash
# make setup: install what is missing, mount tracefs and bpffs, print readiness.
# make doctor (--doctor): print the readiness table only.
# Idempotent. Exits non-zero when something needed cannot be fixed here.
set -u

PACKAGES="clang llvm libbpf-dev libelf-dev zlib1g-dev pkg-config bpftool make
          bats bats-support bats-assert bats-file gnuplot-nox"
TRACEFS=/sys/kernel/tracing
BPFFS=/sys/fs/bpf

missing_packages() {
	local p
	for p in $PACKAGES; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || echo "$p"
	done
}

install_packages() {
	local missing
	missing=$(missing_packages | tr '\n' ' ')
	[ -n "$missing" ] || return 0
	echo "installing: $missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq &&
		apt-get install -y -qq --no-install-recommends $missing > /dev/null ||
		{ echo "setup: apt-get could not install: $missing"; return 1; }
}

mount_filesystems() {
	[ -d $TRACEFS/events ] || mount -t tracefs tracefs $TRACEFS ||
		echo "setup: cannot mount tracefs at $TRACEFS"
	mountpoint -q $BPFFS || mount -t bpf bpf $BPFFS ||
		echo "setup: cannot mount bpffs at $BPFFS"
}

# ---- the readiness table ----------------------------------------------------

bad=0
row() { # row NAME VALUE ok|FIX:<how>
	local verdict=ok
	if [ "$3" != ok ]; then verdict="MISSING: ${3#FIX:}"; bad=1; fi
	printf '  %-18s %-34s %s\n' "$1" "$2" "$verdict"
}

kernel_at_least() { # kernel_at_least MAJOR MINOR
	local v=${1}.${2} k
	k=$(uname -r | sed 's/^\([0-9]*\.[0-9]*\).*/\1/')
	[ "$(printf '%s\n%s\n' "$v" "$k" | sort -V | head -n 1)" = "$v" ]
}

map_available() { # from bpftool's probe, run once
	grep -q "map_type $1 is available" <<< "$PROBE"
}

readiness() {
	local tool
	echo "readiness:"
	if kernel_at_least 5 8; then row kernel "$(uname -r)" ok
	else row kernel "$(uname -r)" "FIX:labs need >= 5.8 (ring buffer)"; fi
	if [ -r /sys/kernel/btf/vmlinux ]; then row BTF /sys/kernel/btf/vmlinux ok
	else row BTF "none" "FIX:a kernel built with CONFIG_DEBUG_INFO_BTF=y"; fi
	if [ "$(id -u)" = 0 ]; then row root yes ok
	else row root "no (uid $(id -u))" "FIX:run as root (sudo)"; fi
	if [ -d $TRACEFS/events ]; then row tracefs "$TRACEFS" ok
	else row tracefs "not mounted" "FIX:make setup (as root)"; fi
	if mountpoint -q $BPFFS; then row bpffs "$BPFFS" ok
	else row bpffs "not mounted" "FIX:make setup (as root)"; fi
	PROBE=$(bpftool feature probe kernel 2>/dev/null)
	if map_available ringbuf; then row "ring buffer" available ok
	else row "ring buffer" "not available" "FIX:kernel >= 5.8, as root"; fi
	if map_available perf_event_array; then row "perf event array" available ok
	else row "perf event array" "not available" "FIX:kernel >= 4.3, as root"; fi
	for tool in clang bpftool bats pkg-config; do
		if command -v $tool > /dev/null; then row "$tool" "$($tool --version 2>&1 | grep -m1 -oE '[0-9]+\.[0-9]+(\.[0-9]+)?')" ok
		else row "$tool" "not found" "FIX:make setup"; fi
	done
	if pkg-config --exists libbpf 2>/dev/null; then row libbpf "$(pkg-config --modversion libbpf)" ok
	else row libbpf "not found" "FIX:make setup"; fi
	local missing
	missing=$(missing_packages | tr '\n' ' ')
	if [ -z "$missing" ]; then row packages "all installed" ok
	else row packages "missing: $missing" "FIX:make setup"; fi
}

if [ "${1:-}" != --doctor ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "make setup needs root (it installs packages and mounts filesystems): sudo make setup"
		exit 1
	fi
	install_packages || exit 1
	mount_filesystems
fi
readiness
[ "$bad" = 0 ] || { echo "not ready: fix what is MISSING above"; exit 1; }
echo "ready: try make lab-01"
