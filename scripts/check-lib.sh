# shellcheck shell=bash
# The step runner of the hardware checks (scripts/apple-check.sh,
# scripts/cpu-check.sh), sourced by both. The caller sets check (its name,
# for messages) and steps (its steps.tsv: one line per step, read by
# scripts/internal/checkrun).

# step NAME OUTFILE CMD...: runs CMD with stdout to OUTFILE and stderr to
# OUTFILE's .log, records the exit status and the seconds it took.
step() {
	local name=$1 dst=$2
	shift 2
	echo "$check: $name ..." >&2
	local start=$SECONDS
	"$@" >"$dst" 2>"${dst%.*}.log"
	local rc=$?
	printf '%s\t%d\t%d\n' "$name" "$rc" "$((SECONDS - start))" >>"$steps"
	[ "$rc" -eq 0 ] || echo "$check: $name failed (exit $rc), see ${dst%.*}.log" >&2
	return 0
}

# missing NAME REASON: a step that cannot run (recorded as failed, with why).
missing() {
	printf '%s\t1\t0\t%s\n' "$1" "$2" >>"$steps"
	echo "$check: $1: $2" >&2
}
