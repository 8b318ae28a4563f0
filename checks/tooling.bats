#!/usr/bin/env bats
# The tooling around the labs: the checkers' lock, make setup's package lists,
# make bench's default tree, the trigger's usage. Run by make test; needs no
# BPF. Each lock test uses its own TMPDIR, so the machine's real lock (which
# make test itself holds) is never involved.

ROOT=$(cd "$BATS_TEST_DIRNAME/.." && pwd)

setup() {
	unset KEDL_LOCKED LAB_TREE
	export TMPDIR=$BATS_TEST_TMPDIR/tmp
	mkdir -p "$TMPDIR"
	HOLDER_PID=
}

teardown() {
	# a test that failed with the holder still waiting for its release
	[ -z "$HOLDER_PID" ] || kill "$HOLDER_PID" 2>/dev/null
	return 0
}

# fail_with EXPECTED SAW
fail_with() {
	printf 'expected: %s\n     saw: %s\n' "$1" "$2"
	return 1
}

# hold_lock WHAT: a background shell takes the lock as WHAT and keeps it until
# a line is written to $RELEASE; sets HOLDER_PID once it holds the lock.
hold_lock() {
	local ready=$BATS_TEST_TMPDIR/ready.fifo
	RELEASE=$BATS_TEST_TMPDIR/release.fifo
	mkfifo "$ready" "$RELEASE"
	# 3>&-: bats waits for whatever holds its fd 3 open
	bash -c '. "$1/checks/lock.bash"; kedl_take_lock "$2" || exit 1
		echo "$BASHPID" > "$3"; read -r _ < "$4"' holder "$ROOT" "$1" "$ready" "$RELEASE" 3>&- &
	read -r -t 60 HOLDER_PID < "$ready" || fail_with "the holder to take the free lock" "nothing"
	HELD_BY=$HOLDER_PID
}

release_lock() {
	echo release > "$RELEASE"
	wait "$HOLDER_PID"
	HOLDER_PID=
}

@test "the checkers' lock: a waiter says who holds it (PID, what it runs, since when), prints progress, and gets it once released" {
	hold_lock "make test LABS=99"
	local err=$BATS_TEST_TMPDIR/waiter.fifo line waiting= progress= waiter
	mkfifo "$err"
	KEDL_LOCK_TICK=1 bash -c '. "$1/checks/lock.bash"; kedl_take_lock "waiter" && echo "got it"' \
		waiter "$ROOT" > "$BATS_TEST_TMPDIR/waiter.out" 2> "$err" 3>&- &
	waiter=$!
	# read the waiter's stderr until it has said whom it waits for and shown
	# a progress line; only then release the holder (no sleeping, no timing)
	exec {fd}< "$err"
	while IFS= read -r -t 60 -u "$fd" line; do
		echo "$line" >> "$BATS_TEST_TMPDIR/waiter.err"
		[[ $line == "waiting for the checkers' lock"* ]] && waiting=$line
		[[ $line == *"still waiting for the checkers' lock"* ]] && progress=$line
		[ -n "$waiting" ] && [ -n "$progress" ] && break
	done
	release_lock
	cat <&"$fd" >> "$BATS_TEST_TMPDIR/waiter.err"
	exec {fd}<&-
	wait "$waiter" || fail_with "the waiter to get the lock after the release (exit 0)" "exit $?: $(cat "$BATS_TEST_TMPDIR/waiter.err")"
	[[ $waiting =~ ^"waiting for the checkers' lock, held by PID $HELD_BY (make test LABS=99) since "[0-9]{2}:[0-9]{2}:[0-9]{2}$ ]] ||
		fail_with "waiting for the checkers' lock, held by PID <holder> (make test LABS=99) since HH:MM:SS" "${waiting:-nothing}"
	[[ $progress == *"held by PID $HELD_BY (make test LABS=99)"* ]] ||
		fail_with "a progress line naming the holder" "${progress:-nothing}"
	grep -q '^got it$' "$BATS_TEST_TMPDIR/waiter.out" || fail_with "the waiter to hold the lock" "$(cat "$BATS_TEST_TMPDIR/waiter.out")"
	# the lock file now names the new holder
	read -r pid _ what < "$TMPDIR/kedl-checkers.lock"
	[ "$what" = waiter ] || fail_with "the new holder's line in the lock file" "$pid $what"
}

@test "the checkers' lock: a waiter that may not wait names the holder's PID and gives up (exit 1)" {
	hold_lock "lab-01 checker on labs/"
	run env KEDL_LOCK_WAIT=0 bash -c '. "$1/checks/lock.bash"; kedl_take_lock "waiter"' waiter "$ROOT"
	release_lock
	[ "$status" = 1 ] || fail_with "a waiter that may not wait to give up (exit 1)" "exit $status"
	[[ ${lines[0]} == "waiting for the checkers' lock, held by PID $HELD_BY (lab-01 checker on labs/) since "* ]] ||
		fail_with "waiting for the checkers' lock, held by PID $HELD_BY (lab-01 checker on labs/) since ..." "${lines[0]:-nothing}"
	[[ ${lines[1]} == "gave up after 0s waiting for the checkers' lock"* ]] || fail_with "a line saying it gave up" "${lines[1]:-nothing}"
}

@test "the checkers' lock: a holder that wrote no line (plain flock FILE COMMAND) is named from /proc/locks" {
	local ready=$BATS_TEST_TMPDIR/ready.fifo release=$BATS_TEST_TMPDIR/release.fifo holder
	mkfifo "$ready" "$release"
	flock "$TMPDIR/kedl-checkers.lock" bash -c 'echo held > "$1"; read -r _ < "$2"' holder "$ready" "$release" 3>&- &
	holder=$!
	read -r -t 60 _ < "$ready" || fail_with "flock to take the free lock" "nothing"
	run env KEDL_LOCK_WAIT=0 bash -c '. "$1/checks/lock.bash"; kedl_take_lock "waiter"' waiter "$ROOT"
	echo release > "$release"
	wait "$holder"
	[[ ${lines[0]} == "waiting for the checkers' lock, held by PID $holder (flock "*") running since "* ]] ||
		fail_with "waiting for the checkers' lock, held by PID $holder (flock ...) running since ..." "${lines[0]:-nothing}"
}

@test "the checkers' lock: a process a test leaves behind does not keep it held" {
	local held=$BATS_TEST_TMPDIR/held.fifo pid
	mkfifo "$held"
	# a checker whose test starts a process that outlives it, like a held command
	# ($at: bats would take a literal test line here for one of this file's)
	local at=@test
	cat > "$BATS_TEST_TMPDIR/leftover.bats" <<-EOF
	setup_file() { . "$ROOT/checks/lock.bash"; kedl_take_lock "leftover test"; }
	setup() { . "$ROOT/checks/lock.bash"; kedl_lock_forget; }
	$at "leaves a process behind" {
		bash -c 'echo \$\$ > "\$1"; read -r _ < "\$1"' left "$held" 3>&- &
	}
	EOF
	bats "$BATS_TEST_TMPDIR/leftover.bats" > "$BATS_TEST_TMPDIR/leftover.out" 2>&1 3>&- &
	read -r -t 60 pid < "$held" || fail_with "the leftover checker to start its process" "$(cat "$BATS_TEST_TMPDIR/leftover.out")"
	wait $! || fail_with "the leftover checker to pass" "$(cat "$BATS_TEST_TMPDIR/leftover.out")"
	# the checker is over, its process is still there: the lock must be free
	kill -0 "$pid" || fail_with "the left-over process alive" "gone"
	flock -n "$TMPDIR/kedl-checkers.lock" true
	local free=$?
	echo done > "$held"
	[ "$free" = 0 ] || fail_with "the lock free once the checker ended" "still held (by its left-over process $pid)"
}

@test "a checker builds first, then waits for the lock, saying so on bats' output" {
	local nn
	nn=$(ls -d "$ROOT"/labs/lab-[0-9][0-9]-* | head -n 1 | sed 's|.*/lab-\([0-9]*\)-.*|\1|')
	# a make that records that it was called: the build step, without building
	mkdir -p "$BATS_TEST_TMPDIR/bin"
	printf '#!/bin/sh\necho "make $*" >> "%s"\n' "$BATS_TEST_TMPDIR/make.calls" > "$BATS_TEST_TMPDIR/bin/make"
	chmod +x "$BATS_TEST_TMPDIR/bin/make"
	hold_lock "tooling test"
	run env PATH="$BATS_TEST_TMPDIR/bin:$PATH" KEDL_LOCK_WAIT=0 bats --filter ' builds$' "$ROOT/checks/lab-$nn.bats"
	release_lock
	grep -q "lab-$nn" "$BATS_TEST_TMPDIR/make.calls" 2>/dev/null ||
		fail_with "make lab-$nn run before the wait" "$(cat "$BATS_TEST_TMPDIR/make.calls" 2>/dev/null || echo 'no make call')"
	[[ $output == *"waiting for the checkers' lock, held by PID $HELD_BY (tooling test) since "* ]] ||
		fail_with "the waiting line in bats' output" "$output"
}

@test "make bench-NN measures labs/ by default, solutions/ with LAB_TREE=solutions" {
	local b nn seen=0
	for b in "$ROOT"/solutions/lab-*/bench.sh; do
		[ -e "$b" ] || continue
		nn=$(sed 's|.*/lab-\([0-9]*\)-.*|\1|' <<< "$b")
		# -n: print the commands; -o: the builds are taken as done
		run make -s -C "$ROOT" -n -o "lab-$nn" -o "solution-$nn" "bench-$nn"
		[[ $output == *"LAB_TREE=labs solutions/lab-$nn-"*"/bench.sh"* ]] ||
			fail_with "make bench-$nn to run bench.sh with LAB_TREE=labs" "$output"
		run env LAB_TREE=solutions make -s -C "$ROOT" -n -o "lab-$nn" -o "solution-$nn" "bench-$nn"
		[[ $output == *"LAB_TREE=solutions solutions/lab-$nn-"*"/bench.sh"* ]] ||
			fail_with "LAB_TREE=solutions make bench-$nn to pass LAB_TREE=solutions" "$output"
		run make -s -C "$ROOT" -n -p -o "lab-$nn" -o "solution-$nn" "bench-$nn"
		grep -q "^bench-%: lab-% solution-%" <<< "$output" ||
			fail_with "bench-NN to build lab-NN and solution-NN first" "$(grep '^bench-%' <<< "$output")"
		seen=$((seen + 1))
	done
	[ "$seen" -gt 0 ] || fail_with "a lab with a bench.sh" "none"
}

@test "trigger -h: the usage on stdout, exit 0; a bad option: exit 2" {
	make -s -C "$ROOT" "$ROOT/build/trigger" > /dev/null
	run "$ROOT/build/trigger" -h
	[ "$status" = 0 ] || fail_with "trigger -h to exit 0" "exit $status: $output"
	[[ ${lines[0]} == "usage: trigger "* ]] || fail_with "usage: trigger ..." "${lines[0]:-nothing}"
	run "$ROOT/build/trigger" --help
	[ "$status" = 0 ] || fail_with "trigger --help to exit 0" "exit $status"
	run "$ROOT/build/trigger" -Z
	[ "$status" = 2 ] || fail_with "trigger -Z to exit 2" "exit $status"
}

# os_release_file ID VERSION_ID: a fake /etc/os-release
os_release_file() {
	local f=$BATS_TEST_TMPDIR/os-release-$1-$2
	printf 'PRETTY_NAME="%s %s"\nNAME="%s"\nVERSION_ID="%s"\nID=%s\n%s' "$1" "$2" "$1" "$2" "$1" \
		"$([ "$1" = ubuntu ] && echo 'ID_LIKE=debian')" > "$f"
	echo "$f"
}

@test "make setup installs gcc, procps and patch on every supported system" {
	local sys p
	for sys in "debian 12" "debian 13" "ubuntu 22.04" "ubuntu 24.04"; do
		run "$ROOT/scripts/setup.sh" --packages "$(os_release_file $sys)"
		[ "$status" = 0 ] || fail_with "setup.sh --packages to exit 0" "exit $status"
		for p in gcc procps patch clang libbpf-dev make bats bats-support bats-assert; do
			grep -qx "$p" <<< "$output" || fail_with "package $p for $sys" "$(echo $output)"
		done
	done
}

@test "make setup reads /etc/os-release: bpftool on Debian 12 and 13, linux-tools on Ubuntu 22.04 and 24.04" {
	local sys
	for sys in "debian 12" "debian 13"; do
		run "$ROOT/scripts/setup.sh" --packages "$(os_release_file $sys)"
		grep -qx bpftool <<< "$output" || fail_with "bpftool for $sys" "$(echo $output)"
		! grep -q '^linux-tools' <<< "$output" || fail_with "no linux-tools for $sys" "$(echo $output)"
	done
	for sys in "ubuntu 22.04" "ubuntu 24.04"; do
		run "$ROOT/scripts/setup.sh" --packages "$(os_release_file $sys)"
		grep -qx linux-tools-common <<< "$output" && grep -qx linux-tools-generic <<< "$output" ||
			fail_with "linux-tools-common and linux-tools-generic for $sys" "$(echo $output)"
		! grep -qx bpftool <<< "$output" ||
			fail_with "no fixed bpftool package for $sys (setup adds it only where the archive has one)" "$(echo $output)"
	done
}

@test "make setup names each package it cannot install, and installs the others" {
	local bin=$BATS_TEST_TMPDIR/bin
	mkdir -p "$bin"
	# an apt-get that refuses any batch holding an unknown name, as the real one does
	printf '#!/bin/sh\necho "$*" >> "%s"\nfor a; do case $a in kedl-*) exit 100;; esac; done\nexit 0\n' \
		"$BATS_TEST_TMPDIR/apt.calls" > "$bin/apt-get"
	printf '#!/bin/sh\nexit 1\n' > "$bin/dpkg-query" # nothing is installed
	chmod +x "$bin/apt-get" "$bin/dpkg-query"
	run env PATH="$bin:$PATH" bash -c '. "$1/scripts/setup.sh"
		COMMON_PACKAGES="gcc kedl-no-such-package procps"; install_packages' setup "$ROOT"
	[[ $output == *"could not install: kedl-no-such-package "* ]] ||
		fail_with "setup: apt-get could not install: kedl-no-such-package" "$output"
	[[ $output != *"could not install:"*gcc* && $output != *"could not install:"*procps* ]] ||
		fail_with "only the unknown package named" "$output"
	grep -qx 'install -y -qq --no-install-recommends gcc' "$BATS_TEST_TMPDIR/apt.calls" &&
		grep -qx 'install -y -qq --no-install-recommends procps' "$BATS_TEST_TMPDIR/apt.calls" ||
		fail_with "gcc and procps installed one by one after the batch failed" "$(cat "$BATS_TEST_TMPDIR/apt.calls")"
}

@test "make doctor names the compiler behind cc and checks -fsanitize=thread and -fsanitize=undefined" {
	run "$ROOT/scripts/setup.sh" --doctor
	grep -qE '^  cc +(gcc|clang) [0-9]+\.[0-9]+' <<< "$output" || fail_with "a row 'cc  gcc N.N' or 'cc  clang N.N'" "$output"
	grep -q '^  cc -fsanitize=thread ' <<< "$output" || fail_with "a row for -fsanitize=thread" "$output"
	grep -q '^  cc -fsanitize=undefined ' <<< "$output" || fail_with "a row for -fsanitize=undefined" "$output"
}

@test "debian13-check.sh finds the Debian mirror in sources.list and deb822 .sources files" {
	source <(sed -n '/^apt_mirror()/,/^}/p' "$ROOT/scripts/debian13-check.sh")
	local d=$BATS_TEST_TMPDIR
	printf 'deb https://deb.nodesource.com/node_20.x nodistro main\n' > "$d/a.list"
	printf '# a comment\ndeb [signed-by=/k.gpg arch=amd64] http://mirror.example/debian-security trixie-security main\ndeb [arch=amd64] http://mirror.example/debian trixie main\n' > "$d/b.list"
	printf 'Types: deb\nURIs: http://other.example/x\nSuites: nodistro\n\nTypes: deb\nURIs: http://sources.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\n' > "$d/c.sources"
	[ "$(apt_mirror "$d/a.list" "$d/b.list")" = http://mirror.example/debian ] ||
		fail_with "http://mirror.example/debian" "$(apt_mirror "$d/a.list" "$d/b.list")"
	[ "$(apt_mirror "$d/a.list" "$d/c.sources")" = http://sources.example/debian ] ||
		fail_with "http://sources.example/debian" "$(apt_mirror "$d/a.list" "$d/c.sources")"
}
