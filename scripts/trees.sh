# Sourced by mutants.sh and mistakes.sh: build a variant of a lab (a copy of
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
