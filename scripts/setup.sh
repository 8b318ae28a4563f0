#!/usr/bin/env bash
# make setup: install what is missing, mount tracefs and bpffs, print readiness.
# make doctor (--doctor): print the readiness table only.
#
#   scripts/setup.sh                          install, mount, readiness (root)
#   scripts/setup.sh --doctor                 readiness only
#   scripts/setup.sh --packages [OS_RELEASE]  the packages this system needs, one a
#                                             line (OS_RELEASE: default /etc/os-release)
#
# Supported: Debian 12 and 13, Ubuntu 22.04 and 24.04 (read from /etc/os-release).
# Idempotent, and quick when everything is there (one dpkg-query, no apt-get).
# A package that cannot be installed is named and the rest still goes in.
# Exits non-zero when something needed cannot be fixed here.
set -u

TRACEFS=/sys/kernel/tracing
BPFFS=/sys/fs/bpf
# gcc: cc for the labs; its ThreadSanitizer and UBSan runtimes come with it
# (clang's are only a Recommends). procps: pgrep and pkill in the checkers.
# patch: make test applies the mistake catalogue.
COMMON_PACKAGES="clang llvm libbpf-dev libelf-dev zlib1g-dev pkg-config make gcc procps patch
                 bats bats-support bats-assert bats-file gnuplot-nox"

# os_release [FILE]: "ID VERSION_ID" of the system, e.g. "debian 12", "ubuntu 24.04"
os_release() {
	( ID= VERSION_ID=; . "${1:-/etc/os-release}" 2>/dev/null; echo "${ID:-unknown} ${VERSION_ID:-?}" )
}

# packages_for [FILE]: the packages the labs need on that system, one a line.
# Debian packages bpftool; Ubuntu ships it per kernel in linux-tools (the
# generic kernel's, and the running kernel's where that exists: see
# ubuntu_bpftool), and in a bpftool package on releases that have one.
packages_for() {
	local p
	for p in $COMMON_PACKAGES; do echo "$p"; done
	case $(os_release "${1:-}") in
	"ubuntu 22.04" | "ubuntu 24.04")
		echo linux-tools-common
		echo linux-tools-generic ;;
	*)
		echo bpftool ;;
	esac
}

supported() {
	case $(os_release) in
	"debian 12" | "debian 13" | "ubuntu 22.04" | "ubuntu 24.04") return 0 ;;
	*) return 1 ;;
	esac
}

is_ubuntu() { [ "$(os_release | cut -d' ' -f1)" = ubuntu ]; }

missing_packages() {
	local want
	want=$(packages_for)
	# one dpkg-query for all: those not reported as installed are missing
	comm -23 <(sort -u <<< "$want") \
		<(dpkg-query -W -f='${Package} ${Status}\n' $want 2>/dev/null |
			awk '$NF == "installed" && $(NF - 1) == "ok" { print $1 }' | sort -u)
}

# apt_has PACKAGE: the archive has an installable version of it
apt_has() {
	apt-cache policy "$1" 2>/dev/null | grep -q 'Candidate: [^(]'
}

# install PACKAGE...: the batch first; if apt-get refuses it, one by one, so
# one package that cannot be had is named and does not stop the others.
# Prints the names that could not be installed.
install() {
	local p
	[ $# -gt 0 ] || return 0
	apt-get install -y -qq --no-install-recommends "$@" > /dev/null 2>&1 && return 0
	for p in "$@"; do
		apt-get install -y -qq --no-install-recommends "$p" > /dev/null 2>&1 || echo "$p"
	done
}

install_packages() {
	local missing failed extra=
	missing=$(missing_packages | tr '\n' ' ')
	# Ubuntu: the bpftool package where the release has one, and the running kernel's tools
	if is_ubuntu && ! working_bpftool > /dev/null; then
		extra="linux-tools-$(uname -r)"
	fi
	[ -n "${missing// /}$extra" ] || return 0
	echo "installing: $missing${extra:+(and, if the archive has it, $extra)}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq > /dev/null 2>&1 || echo "setup: apt-get update failed; trying with the package lists there are"
	if is_ubuntu && apt_has bpftool; then missing="$missing bpftool"; fi
	failed=$(install $missing | tr '\n' ' ')
	[ -z "$failed" ] || echo "setup: apt-get could not install: $failed(each name above; the rest is installed)"
	if [ -n "$extra" ] && apt_has "$extra"; then
		[ -z "$(install "$extra")" ] || echo "setup: apt-get could not install: $extra"
	fi
	return 0
}

# working_bpftool: the path of a bpftool that runs. On Ubuntu, /usr/sbin/bpftool
# is a wrapper that fails unless linux-tools of the running kernel is installed:
# then the newest /usr/lib/linux-tools/*/bpftool that runs is the one.
working_bpftool() {
	local b
	for b in $(command -v bpftool 2>/dev/null) $(ls -d /usr/lib/linux-tools/*/bpftool 2>/dev/null | sort -rV); do
		[ -x "$b" ] && "$b" version > /dev/null 2>&1 && { echo "$b"; return 0; }
	done
	return 1
}

# Make `bpftool` on PATH one that runs: the build, the checkers and this script
# call it by name. /usr/local/sbin comes before /usr/sbin in root's PATH and
# sudo's secure_path.
link_bpftool() {
	local b
	command -v bpftool > /dev/null && bpftool version > /dev/null 2>&1 && return 0
	b=$(working_bpftool) || { echo "setup: no bpftool that runs (tried bpftool and /usr/lib/linux-tools/*/bpftool)"; return 0; }
	ln -sf "$b" /usr/local/sbin/bpftool && echo "setup: bpftool is $b (linked from /usr/local/sbin/bpftool)"
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
	printf '  %-24s %-34s %s\n' "$1" "$2" "$verdict"
}

version_at_least() { # version_at_least WANT HAVE
	[ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n 1)" = "$1" ]
}

kernel_at_least() { # kernel_at_least MAJOR MINOR
	version_at_least "$1.$2" "$(uname -r | sed 's/^\([0-9]*\.[0-9]*\).*/\1/')"
}

map_available() { # from bpftool's probe, run once
	grep -q "map_type $1 is available" <<< "$PROBE"
}

# compiler: "gcc 12.2.0" or "clang 14.0.6", the compiler behind cc
compiler() {
	local v
	command -v cc > /dev/null || return 1
	v=$(cc --version 2>/dev/null | head -n 1)
	case $v in
	*clang*) echo "clang $(grep -oE '[0-9]+\.[0-9]+\.[0-9]+' <<< "$v" | head -n 1)" ;;
	*)       echo "gcc $(cc -dumpfullversion 2>/dev/null || cc -dumpversion)" ;;
	esac
}

# sanitizer FLAGS: cc links a program with them, and it runs
sanitizer() {
	local dir status
	dir=$(mktemp -d)
	echo 'int main(void) { return 0; }' > "$dir/t.c"
	if ! cc $1 "$dir/t.c" -o "$dir/t" > "$dir/log" 2>&1; then
		status="does not link"
	elif ! "$dir/t" > "$dir/log" 2>&1; then
		status="links, does not run"
	else
		status=ok
	fi
	rm -rf "$dir"
	echo "$status"
}

readiness() {
	local tool v cc_name s
	echo "readiness:"
	if supported; then row system "$(os_release)" ok
	else printf '  %-24s %-34s %s\n' system "$(os_release)" "untested (Debian 12, 13, Ubuntu 22.04, 24.04 are)"; fi
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
	if cc_name=$(compiler); then row cc "$cc_name" ok
	else row cc "not found" "FIX:make setup (installs gcc)"; fi
	if [ -n "$cc_name" ]; then
		s=$(sanitizer -fsanitize=thread)
		if [ "$s" = ok ]; then row "cc -fsanitize=thread" "links and runs" ok
		else row "cc -fsanitize=thread" "$s" "FIX:make setup (gcc); clang as cc needs libclang-rt-N-dev"; fi
		s=$(sanitizer "-fsanitize=undefined,alignment -fno-sanitize-recover=all")
		if [ "$s" = ok ]; then row "cc -fsanitize=undefined" "links and runs" ok
		else row "cc -fsanitize=undefined" "$s" "FIX:make setup (gcc); clang as cc needs libclang-rt-N-dev"; fi
	fi
	for tool in clang bpftool bats pkg-config make patch pgrep flock; do
		if ! command -v $tool > /dev/null; then row "$tool" "not found" "FIX:make setup"; continue; fi
		v=$($tool --version 2>&1 | grep -m1 -oE '[0-9]+\.[0-9]+(\.[0-9]+)?')
		case $tool in
		bpftool) if bpftool version > /dev/null 2>&1; then row bpftool "$v ($(command -v bpftool))" ok
			 else row bpftool "$(command -v bpftool) does not run" "FIX:make setup (finds one that runs)"; fi ;;
		bats)    if version_at_least 1.7 "$v"; then row bats "$v" ok
			 else row bats "$v" "FIX:bats >= 1.7 (bats_load_library)"; fi ;;
		*)       row "$tool" "${v:-present}" ok ;;
		esac
	done
	if pkg-config --exists libbpf 2>/dev/null; then
		v=$(pkg-config --modversion libbpf)
		if version_at_least 1.0 "$v"; then row libbpf "$v" ok
		else row libbpf "$v" "FIX:libbpf >= 1.0 (the labs are written against 1.1)"; fi
	else row libbpf "not found" "FIX:make setup"; fi
	local missing
	missing=$(missing_packages | tr '\n' ' ')
	if [ -z "$missing" ]; then row packages "all installed" ok
	else row packages "missing: $missing" "FIX:make setup"; fi
}

main() {
	case ${1:-} in
	--packages)
		packages_for "${2:-}"
		exit 0 ;;
	--doctor)
		;;
	"")
		if [ "$(id -u)" != 0 ]; then
			echo "make setup needs root (it installs packages and mounts filesystems): sudo make setup"
			exit 1
		fi
		supported || echo "setup: $(os_release) is not one of Debian 12, 13, Ubuntu 22.04, 24.04: trying Debian's package names"
		install_packages
		link_bpftool
		mount_filesystems ;;
	*)
		echo "usage: scripts/setup.sh [--doctor | --packages [OS_RELEASE]]" >&2
		exit 2 ;;
	esac
	readiness
	[ "$bad" = 0 ] || { echo "not ready: fix what is MISSING above"; exit 1; }
	echo "ready: try make lab-01"
}

# sourced (checks/tooling.bats): the functions only
[ "${BASH_SOURCE[0]}" != "$0" ] || main "$@"
