#!/bin/sh
# usage: tests/conformance/compare.sh RESULTS_A RESULTS_B [RESULTS_C...]
# Prints every case whose result line differs between the result files
# (written by run.sh --results), one block per case; exit 1 if any differ.
set -eu
[ $# -ge 2 ] || { echo "usage: $0 RESULTS_A RESULTS_B [RESULTS_C...]" >&2; exit 2; }
awk '
	BEGIN { for (i = 1; i < ARGC; i++) idx[ARGV[i]] = i }
	{ name = $1; line = $0; sub(/^[^ ]* /, "", line)
	  if (!(name in seen)) { seen[name] = 1; order[++n] = name }
	  res[name, idx[FILENAME]] = line }
	END {
	  diff = 0
	  for (i = 1; i <= n; i++) {
	    nm = order[i]; d = 0
	    for (f = 2; f < ARGC; f++) if (!((nm, f) in res) || !((nm, 1) in res) || res[nm, f] != res[nm, 1]) d = 1
	    if (!d) continue
	    diff++; print nm
	    for (f = 1; f < ARGC; f++)
	      printf "  %-28s %s\n", ARGV[f], ((nm, f) in res) ? res[nm, f] : "(missing)"
	  }
	  printf "compare: %d of %d cases differ\n", diff, n
	  exit diff ? 1 : 0
	}' "$@"
