# Sourced by selftest.sh, mutants.sh and mistakes.sh. Build a variant of a lab (a copy of
# its folder, changed) as a tree of its own, so a checker can test it with
# LAB_TREE=<tree>. The build lands in build/<tree>/lab-NN.

# variant_dir TREE LAB_NAME: a fresh folder build/variant-src/TREE/LAB_NAME.
variant_dir() {
	local dir=$ROOT/build/variant-src/$1/$2
	rm -rf "$dir" && mkdir -p "$dir" && echo "$dir"
}

# build_variant DIR: build the lab in DIR; its log goes to DIR/build.log.
# Built once, reused: the variant starts from the reference's objects, and its
# sources keep the reference's times (cp -p) except the files the variant
# changed, so make rebuilds only what the change touched.
build_variant() {
	local tree lab_dir nn ref
	tree=$(basename "$(dirname "$1")")
	lab_dir=$(basename "$1")
	nn=$(cut -d- -f2 <<< "$lab_dir")
	ref=$ROOT/build/solutions/lab-$nn.obj
	if make -s -C "$ROOT/solutions/$lab_dir" > "$1/build.log" 2>&1 && [ -d "$ref" ]; then
		mkdir -p "$ROOT/build/$tree" && cp -rp "$ref" "$ROOT/build/$tree/"
	fi
	# a lab Makefile includes ../../common/lab.mk: point it home
	sed -i "s|^include .*common/lab.mk|include $ROOT/common/lab.mk|" "$1/Makefile"
	make -s -C "$1" >> "$1/build.log" 2>&1
}

# drop_variant TREE: remove its sources and its build.
drop_variant() {
	rm -rf "$ROOT/build/$1" "$ROOT/build/variant-src/$1"
}

# checker_tap TREE NN [FILTER]: the checker's TAP output on TREE, only the
# tests matching FILTER if given, then a last line "# exit STATUS" (124: out
# of time).
# With KEDL_FAIL_FAST set, bats is stopped as soon as the first failing test
# has printed its diagnostics: the tests after it would only skip, and bats
# re-reads the whole checker for every test, skipped or not (about 0.4 s each
# on these machines), which made most of the time of a mutant's run.
checker_tap() {
	local line fd pid failed= tmp status
	tmp=$ROOT/build/bats-run.$$.$RANDOM # bats makes it; removed below, even after a kill
	exec {fd}< <(BATS_RUN_TMPDIR=$tmp LAB_TREE=$1 exec setsid timeout -k 10 "${CHECKER_TIMEOUT:-900}" \
		bats --tap ${3:+--filter "$3"} "$ROOT/checks/lab-$2.bats" 2>&1)
	pid=$! # setsid made it a process group of its own: bats and all it started
	while IFS= read -r -u "$fd" line; do
		if [ -n "$failed" ] && [[ $line == "ok "* || $line == "not ok "* ]]; then
			kill -TERM -- "-$pid" 2>/dev/null
			break
		fi
		[ -n "${KEDL_FAIL_FAST:-}" ] && [[ $line == "not ok "* ]] && failed=1
		printf '%s\n' "$line"
	done
	exec {fd}<&-
	status=0
	wait "$pid" 2>/dev/null || status=$?
	[ -z "$failed" ] || status=1
	rm -rf "$tmp"
	echo "# exit $status"
}
