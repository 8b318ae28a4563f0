# Sourced by mutants.sh and mistakes.sh: build a variant of a lab (a copy of
# its folder, changed) as a tree of its own, so a checker can test it with
# LAB_TREE=<tree>. The build lands in build/<tree>/lab-NN.

# variant_dir TREE LAB_NAME: a fresh folder build/variant-src/TREE/LAB_NAME.
variant_dir() {
	local dir=$ROOT/build/variant-src/$1/$2
	rm -rf "$dir" && mkdir -p "$dir" && echo "$dir"
}

# build_variant DIR: build the lab in DIR; its log goes to DIR/build.log.
build_variant() {
	# a lab Makefile includes ../../common/lab.mk: point it home
	sed -i "s|^include .*common/lab.mk|include $ROOT/common/lab.mk|" "$1/Makefile"
	make -s -C "$1" > "$1/build.log" 2>&1
}

# drop_variant TREE: remove its sources and its build.
drop_variant() {
	rm -rf "$ROOT/build/$1" "$ROOT/build/variant-src/$1"
}
