# Sourced by the SQL benchmarks (`. "$(dirname "$0")/common.sh" NAME PORT`): the connection to the
# benchmark database on PORT (default 5499), a work folder, and the timing helpers. Every
# figure a benchmark prints is a ratio against a baseline timed the same way in the same run.
set -euo pipefail
PORT="${2:-5499}"
HERE="$(cd "$(dirname "$0")" && pwd)"
WORK="${TMPDIR:-/tmp}/shopml-bench-$1"
mkdir -p "$WORK"
PSQL=(psql -X -q -h localhost -p "$PORT" -U postgres -d shopml_bench -v ON_ERROR_STOP=1)
REPS="${REPS:-3}"

# q QUERY: its result, unaligned
q() { "${PSQL[@]}" -At -c "SET client_min_messages = warning" -c "$1"; }

# ms QUERY: wall time of one run, in ms
ms() { "${PSQL[@]}" -c '\timing on' -c "SET client_min_messages = warning" -c "$1" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -1; }

# best QUERY: the fastest of REPS runs, in ms
best() {
  local b="" t
  for _ in $(seq "$REPS"); do
    t=$(ms "$1")
    if [ -z "$b" ] || awk "BEGIN{exit !($t < $b)}"; then b=$t; fi
  done
  echo "$b"
}

# auc LABEL SCORE FROM: the area under the ROC curve of SCORE for the 0/1 LABEL over the rows
# of FROM (the Mann-Whitney rank sum; tied scores share their mean rank), to 5 decimals
auc() {
  q "WITH s AS (SELECT ($1)::int AS y, $2 AS p FROM $3),
          r AS (SELECT y, rank() OVER (ORDER BY p) + (count(*) OVER (PARTITION BY p) - 1) / 2.0 AS r FROM s)
     SELECT round(((sum(r) FILTER (WHERE y = 1) - count(*) FILTER (WHERE y = 1) * (count(*) FILTER (WHERE y = 1) + 1) / 2.0)
            / (count(*) FILTER (WHERE y = 1) * count(*) FILTER (WHERE y = 0)))::numeric, 5) FROM r"
}
