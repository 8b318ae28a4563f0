#!/usr/bin/env bash
# make grade: one row per lab, the checker's verdict on the student's tree.
#
# Every lab is built first, then the machine-wide checkers' lock is taken
# (checks/lock.bash: while it waits it says who holds it), then each checker
# runs. The time limit (GRADE_TIMEOUT, 900 s) is each checker's own run: the
# wait for the lock is not part of it.
set -u
cd "$(dirname "$0")/.."
GRADE_TIMEOUT=${GRADE_TIMEOUT:-900}

dirs=(labs/lab-[0-9][0-9]-*)
echo "make grade: building the ${#dirs[@]} labs, then running their checkers" >&2
for dir in "${dirs[@]}"; do
	# a lab that does not build is reported by its checker's first test
	make -s "lab-$(basename "$dir" | cut -d- -f2)" > /dev/null 2>&1
done
make -s "$PWD/build/trigger" > /dev/null 2>&1

. checks/lock.bash
kedl_take_lock "make grade" || exit 1

printf '%-4s %-28s %-8s %s\n' lab topic passed status
for dir in "${dirs[@]}"; do
	nn=$(basename "$dir" | cut -d- -f2)
	topic=$(basename "$dir" | cut -d- -f3- | tr - ' ')
	tap=$(LAB_TREE=labs timeout -k 10 "$GRADE_TIMEOUT" bats --tap "checks/lab-$nn.bats" 2>/dev/null)
	status=$?
	total=$(grep -c '^\(not \)\?ok ' <<< "$tap")
	ok=$(grep '^ok ' <<< "$tap" | grep -vc '# skip')
	if [ "$status" = 124 ] || [ "$status" = 137 ]; then
		status="not done (the checker did not finish in ${GRADE_TIMEOUT}s: make check-$nn)"
	elif [ "$total" -gt 0 ] && [ "$ok" = "$total" ]; then status=done
	elif grep -q '# skip' <<< "$tap"; then status="not done (some tests skipped: make check-$nn says why)"
	else status="not done (make check-$nn)"; fi
	printf '%-4s %-28s %-8s %s\n' "$nn" "$topic" "$ok/$total" "$status"
done
