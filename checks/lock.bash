# The checkers' lock: one checker run at a time on a machine. Each test checks
# that it left no BPF object behind, which another checker running at the same
# moment would upset. Sourced by checks/helpers.bash (bats checks/lab-NN.bats,
# make check-NN), scripts/grade.sh (make grade) and scripts/selftest.sh (make test).
#
#   kedl_take_lock WHAT    wait for the lock (printing who holds it), take it,
#                          record this holder, export KEDL_LOCKED=1
#   kedl_lock_forget       in a child of the holder (a test): drop the inherited fd
#
# The lock is flock(1) on ${TMPDIR:-/tmp}/kedl-checkers.lock. Its holder writes
# one line into that same file, "PID EPOCH WHAT", so a waiter can say whom it
# waits for (one file, so a chroot that bind-mounts it shares both).
#   KEDL_LOCKED=1         the caller already holds it: return at once
#   KEDL_LOCK_WAIT=3600   seconds to wait before giving up (status 1)
#   KEDL_LOCK_TICK=15     seconds between progress lines while waiting
#   KEDL_LOCK_MSG_FD=2    where the waiting lines go (bats: 3, which it shows)

kedl_lock_file() {
	echo "${TMPDIR:-/tmp}/kedl-checkers.lock"
}

# kedl_lock_holder: "PID N (WHAT) since HH:MM:SS", from the holder's line; for
# a holder that wrote none (a plain `flock FILE COMMAND`), from /proc/locks
kedl_lock_holder() {
	local pid since what file ino
	file=$(kedl_lock_file)
	read -r pid since what < "$file" 2>/dev/null
	if [[ ${pid:-} =~ ^[0-9]+$ && ${since:-} =~ ^[0-9]+$ ]] && [ -d "/proc/$pid" ]; then
		echo "PID $pid (${what:-?}) since $(date -d "@$since" +%H:%M:%S)"
		return
	fi
	# "1: FLOCK  ADVISORY  WRITE PID MAJ:MIN:INODE 0 EOF"; waiters' lines have "->"
	ino=$(stat -c %i "$file" 2>/dev/null)
	pid=$(awk -v ino="$ino" '$2 == "FLOCK" && $6 ~ ":" ino "$" { print $5; exit }' /proc/locks 2>/dev/null)
	if [ -n "$ino" ] && [[ ${pid:-} =~ ^[0-9]+$ ]] && [ -d "/proc/$pid" ]; then
		echo "PID $pid ($(ps -o args= -p "$pid" | cut -c1-80)) running since $(ps -o lstart= -p "$pid" | xargs -I{} date -d {} +%H:%M:%S)"
	else
		echo "a process that did not say who it is (flock $file)"
	fi
}

kedl_take_lock() {
	local what=$1 file start=$SECONDS waited=0 tick=${KEDL_LOCK_TICK:-15} limit=${KEDL_LOCK_WAIT:-3600} step fd
	[ -z "${KEDL_LOCKED:-}" ] || return 0
	fd=${KEDL_LOCK_MSG_FD:-2}
	file=$(kedl_lock_file)
	# >>: opening must not wipe the holder's line
	exec {KEDL_LOCK_FD}>> "$file"
	if ! flock -n "$KEDL_LOCK_FD"; then
		echo "waiting for the checkers' lock, held by $(kedl_lock_holder)" >&"$fd"
		while :; do
			step=$tick
			[ $((limit - waited)) -lt "$step" ] && step=$((limit - waited))
			[ "$step" -gt 0 ] && flock -w "$step" "$KEDL_LOCK_FD" && break
			waited=$((SECONDS - start))
			if [ "$waited" -ge "$limit" ]; then
				echo "gave up after ${limit}s waiting for the checkers' lock, held by $(kedl_lock_holder)" >&"$fd"
				exec {KEDL_LOCK_FD}>&-
				return 1
			fi
			printf '  still waiting for the checkers'"'"' lock (%dm%02ds so far), held by %s\n' \
				$((waited / 60)) $((waited % 60)) "$(kedl_lock_holder)" >&"$fd"
		done
		waited=$((SECONDS - start))
		printf 'got the checkers'"'"' lock after %dm%02ds\n' $((waited / 60)) $((waited % 60)) >&"$fd"
	fi
	# the holder: this shell, which keeps the lock's fd open for the whole run
	printf '%s %s %s\n' "${BASHPID:-$$}" "$(date +%s)" "$what" > "$file"
	export KEDL_LOCKED=1 KEDL_LOCK_FD
}

# kedl_lock_forget: close this process's copy of the lock's fd, which a test
# process inherits from the holder. The holder keeps the lock; a process the
# test leaves behind (a lab, a held command, a sleep) then cannot keep the
# lock held after the checker has ended. Called by lab_setup.
kedl_lock_forget() {
	[[ ${KEDL_LOCK_FD:-} =~ ^[0-9]+$ ]] || return 0
	exec {KEDL_LOCK_FD}>&-
	unset KEDL_LOCK_FD
}
