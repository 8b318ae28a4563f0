#!/usr/bin/env bash
# The instructors' portability check (not run in CI): does a fresh clone pass
# `make setup && make test` on Debian 13 (trixie)? It builds a trixie chroot
# with debootstrap from this machine's configured apt mirror, mounts what the
# labs need (proc, sys with tracefs, bpffs and /sys/kernel/btf, dev), clones
# this repository's committed HEAD into it, runs both commands inside, and
# prints the final "N passed, N failed" line.
#
#   sudo scripts/debian13-check.sh [DIR]     DIR: the chroot, default /var/tmp/kedl-debian13
#   --prepare-only                           build the chroot, run nothing
#   LABS="01 02"                             passed on to make test
#
# The chroot is kept and reused (debootstrap runs only once); the clone inside
# is made anew each time. The chroot shares the kernel: its make test queues on
# this machine's checkers' lock like any other (the lock file is bind-mounted).
# Remove the chroot with `rm -rf --one-file-system DIR` once this script has
# ended (it unmounts everything it mounted, on any exit).
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD

prepare_only=
[ "${1:-}" = --prepare-only ] && { prepare_only=1; shift; }
DIR=${1:-/var/tmp/kedl-debian13}
SUITE=trixie
LOG=$DIR-$(date -u +%Y%m%dT%H%M%SZ).log # one per run

die() { echo "debian13-check: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (debootstrap, mount, chroot): sudo $0"

# apt_mirror [FILE...]: the first Debian archive URI configured for a plain
# Debian suite (not -security, -updates or a third-party repository), from
# one-line sources.list files and deb822 .sources files alike.
apt_mirror() {
	local files=("$@") f suites='^(oldstable|stable|testing|unstable|sid|buster|bullseye|bookworm|trixie|forky)$'
	[ ${#files[@]} -gt 0 ] || files=(/etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources)
	for f in "${files[@]}"; do
		[ -r "$f" ] || continue
		case $f in
		*.sources) # deb822: stanzas separated by blank lines
			awk -v suites="$suites" 'BEGIN { RS = "" }
			{ types = uri = ""; n = split($0, line, "\n"); ok = 0
			  for (i = 1; i <= n; i++) {
				k = split(line[i], w, /[ \t]+/)
				if (w[1] == "Types:") for (j = 2; j <= k; j++) if (w[j] == "deb") types = 1
				if (w[1] == "URIs:") uri = w[2]
				if (w[1] == "Suites:") for (j = 2; j <= k; j++) if (w[j] ~ suites) ok = 1
			  }
			  if (types && ok && uri != "") { print uri; exit } }' "$f" ;;
		*)	awk -v suites="$suites" '$1 == "deb" {
				i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
				if ($(i + 1) ~ suites) { print $i; exit } }' "$f" ;;
		esac
	done | head -n 1
}

mounted=()
cleanup() {
	local i
	for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
		umount -R "${mounted[$i]}" 2>/dev/null || umount -R -l "${mounted[$i]}" 2>/dev/null
	done
	mounted=()
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# bind SRC DST: a recursive bind mount that never propagates back to the host
bind() {
	mkdir -p "$2"
	mount --rbind "$1" "$2" && mount --make-rslave "$2" && mounted+=("$2")
}

# ---- the chroot -------------------------------------------------------------------
if [ ! -x "$DIR/usr/bin/apt-get" ] || [ ! -e "$DIR/.kedl-debootstrap-done" ]; then
	mirror=$(apt_mirror)
	[ -n "$mirror" ] || die "no Debian mirror in /etc/apt/sources.list or sources.list.d"
	command -v debootstrap > /dev/null ||
		{ apt-get update -qq && apt-get install -y -qq debootstrap > /dev/null; } ||
		die "cannot install debootstrap"
	echo "debian13-check: debootstrap $SUITE from $mirror into $DIR (log: $LOG)"
	mkdir -p "$DIR"
	# make: to run `make setup`, which installs everything else itself
	debootstrap --variant=minbase --include=make,ca-certificates "$SUITE" "$DIR" "$mirror" > "$LOG" 2>&1 ||
		die "debootstrap failed: see $LOG"
	touch "$DIR/.kedl-debootstrap-done"
fi
cp /etc/resolv.conf "$DIR/etc/resolv.conf"
[ -n "$prepare_only" ] && { echo "debian13-check: chroot ready in $DIR"; exit 0; }

# ---- what the labs need ---------------------------------------------------------------
# the chroot's / a mount point of its own, as on a real system: `unshare -m`
# (the checkers' "no tracefs" tests) makes / private, which a plain directory refuses
mount --bind "$DIR" "$DIR" && mount --make-private "$DIR" && mounted+=("$DIR") || die "cannot bind $DIR onto itself"
mkdir -p "$DIR/proc" && mount -t proc proc "$DIR/proc" && mounted+=("$DIR/proc") || die "cannot mount proc"
# /sys with what is mounted below it: tracefs, bpffs, debugfs; BTF is in sysfs itself
bind /sys "$DIR/sys" || die "cannot bind /sys"
bind /dev "$DIR/dev" || die "cannot bind /dev"
mountpoint -q "$DIR/sys/kernel/tracing" || { mount -t tracefs tracefs "$DIR/sys/kernel/tracing" && mounted+=("$DIR/sys/kernel/tracing"); }
mountpoint -q "$DIR/sys/fs/bpf" || { mount -t bpf bpf "$DIR/sys/fs/bpf" && mounted+=("$DIR/sys/fs/bpf"); }
[ -r "$DIR/sys/kernel/btf/vmlinux" ] || die "no /sys/kernel/btf/vmlinux in the chroot"
# one checker at a time on the machine, inside the chroot too: share the lock file
lock=${TMPDIR:-/tmp}/kedl-checkers.lock
touch "$lock" "$DIR/tmp/kedl-checkers.lock"
mount --bind "$lock" "$DIR/tmp/kedl-checkers.lock" && mounted+=("$DIR/tmp/kedl-checkers.lock")

# ---- a clean clone, then the README's two commands ----------------------------------------
rm -rf "$DIR/root/kedl"
git clone -q "$ROOT" "$DIR/root/kedl" || die "cannot clone $ROOT"
echo "debian13-check: make setup && make test in $DIR/root/kedl (commit $(git -C "$ROOT" rev-parse --short HEAD)); full output: $LOG"
chroot "$DIR" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	HOME=/root TERM=dumb LANG=C.UTF-8 ${LABS:+LABS="$LABS"} \
	bash -c 'cd /root/kedl && make setup && make test' > "$LOG" 2>&1
status=$?
grep -E '^(FAIL|ready|not ready|installing|setup:)' "$LOG"
result=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$LOG" | tail -n 1)
echo "debian13-check: $(. "$DIR/etc/os-release" && echo "$PRETTY_NAME"), kernel $(uname -r), $(date -u +%Y-%m-%d): ${result:-no result line (exit $status): see $LOG}"
[ -n "$result" ] && echo "$result"
exit $status
