#!/usr/bin/env bash
# The tree and the build: `make help` lists every .PHONY target and every program (and
# names no target that does not exist); every suite's `# needs:` line names make targets;
# nothing cites a document outside the repository. Each check also runs once on a planted
# fault and must find it.
# needs:
set -uo pipefail
. tests/lib.sh
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

# help_gaps [MAKE ARGS]: the .PHONY targets and PROGRAMS missing from `make help`, and the
# help lines that name no target.
help_gaps() {
  local db listed declared t
  db=$(make --no-print-directory -pq "$@" help 2>/dev/null)
  listed=$(make --no-print-directory -s "$@" help | awk '{ print $2 }' | sort -u)
  declared=$({ sed -n 's/^\.PHONY: //p' <<< "$db"; sed -n 's/^PROGRAMS := //p' <<< "$db"; } | tr ' ' '\n' | grep -v '^$' | sort -u)
  comm -23 <(echo "$declared") <(echo "$listed") | sed 's/^/not in make help: /'
  for t in $listed; do grep -q "^$t:" <<< "$db" || echo "make help names no target: $t"; done
}
gaps=$(help_gaps)
if [ -z "$gaps" ]; then ok "make help lists all $(make -s help | wc -l) targets"; else bad "make help"; echo "$gaps"; fi
cat > "$T/planted.mk" <<'EOF'
.PHONY: planted-phony
planted-phony: ; @true
PROGRAMS += planted_program
planted_program: ; @true
## planted-ghost: a help line without a rule
EOF
gaps=$(help_gaps -f Makefile -f "$T/planted.mk")
if [ "$(grep -c 'planted' <<< "$gaps")" = 3 ]; then ok "help check finds a planted undocumented target, program and ghost line"
else bad "help check missed a planted fault: '$gaps'"; fi

# Every suite names what it needs, and those are targets make knows.
no_needs() { grep -L '^# needs:' "$@"; }
missing=$(no_needs tests/suites/*.sh)
if [ -z "$missing" ]; then ok "every suite has a '# needs:' line"; else bad "suites without a '# needs:' line: $missing"; fi
printf '#!/usr/bin/env bash\n# a suite that forgot its needs\n' > "$T/99-planted.sh"
if [ -n "$(no_needs "$T/99-planted.sh")" ]; then ok "the needs check finds a planted suite without one"
else bad "the needs check missed a planted suite without one"; fi
need=$(bash tests/run_suites.sh --needs)
if make -n --no-print-directory $need > /dev/null 2> "$T/err"; then ok "the suites' needs are make targets: $need"
else bad "a suite needs what make cannot build"; cat "$T/err"; fi

# refs FILE...: lines that send the reader outside the repository.
refs() { grep -In -E '\.\./shared|(METHOD|FORMATS|DESIGN)\.md|EMULATOR-NOTES' "$@"; }
mapfile -t files < <(git ls-files -co --exclude-standard | grep -v '^tests/suites/10-tree.sh$')
existing=(); for f in "${files[@]}"; do [ -f "$f" ] && existing+=("$f"); done
hits=$(refs "${existing[@]}")
if [ -z "$hits" ]; then ok "no reference outside the repository in ${#existing[@]} files"
else bad "references outside the repository:"; echo "$hits"; fi
echo "// see FORMATS.md §3.1" > "$T/planted.cpp"
if [ -n "$(refs "$T/planted.cpp")" ]; then ok "the reference check finds a planted one"; else bad "the reference check missed a planted one"; fi

report tree
