# Used by mutants.sh: awk -v id=NN.k -f scripts/tests-naming.awk checks/lab-NN.bats
# prints a bats --filter regex, ^(name|name)$, of the tests that name TODO(id):
# in their own body, or through a helper function of the file that names it
# (or calls one that does). Prints nothing if no test names it.
function esc(s) { gsub(/[][\\.^$*+?(){}|]/, "\\\\&", s); return s }
/^@test "/ { kind = "test"; name = $0; sub(/^@test "/, "", name); sub(/" *\{ *$/, "", name); body[kind, name] = ""; names[++n] = name; next }
/^[a-zA-Z_][a-zA-Z0-9_]*\(\) *\{/ { kind = "func"; name = $0; sub(/\(.*/, "", name); funcs[++nf] = name; body[kind, name] = ""; next }
/^}/ { kind = ""; next }
kind != "" { body[kind, name] = body[kind, name] "\n" $0 }
END {
	want = "TODO(" id ")"
	for (i = 1; i <= nf; i++) if (index(body["func", funcs[i]], want)) hit[funcs[i]] = 1
	for (round = 0; round < 3; round++)
		for (i = 1; i <= nf; i++) for (f in hit)
			if (body["func", funcs[i]] ~ ("(^|[^a-zA-Z0-9_])" f "([^a-zA-Z0-9_]|$)")) hit[funcs[i]] = 1
	out = ""
	for (i = 1; i <= n; i++) {
		b = body["test", names[i]]; take = index(b, want)
		for (f in hit) if (b ~ ("(^|[^a-zA-Z0-9_])" f "([^a-zA-Z0-9_]|$)")) take = 1
		if (take) out = out (out == "" ? "" : "|") esc(names[i])
	}
	if (out != "") print "^(" out ")$"
}
