#!/usr/bin/env bash
# SQL benchmark of linear regression: 5M rows x 8 features. Every figure is a ratio against a
# baseline measured in the same run on the same table, so machines of different speed compare.
#   train_linear                         vs  SELECT sum(y)+sum(x1)+...+sum(x8)  (one parallel scan)
#   sum(shopml.predict('m', ARRAY[..]))  vs  the same linear formula written out in SQL
# Each query runs REPS times (default 3); the fastest run counts.
. "$(dirname "$0")/common.sh" linear "${1:-5499}"
ROWS="${ROWS:-5000000}"

"${PSQL[@]}" <<SQL
CREATE EXTENSION IF NOT EXISTS shopml;
DROP TABLE IF EXISTS bench_linear;
CREATE TABLE bench_linear AS
SELECT 1.5 + x1 - 2 * x2 + 0.5 * x3 + 3 * x4 - x5 + 0.25 * x6 + 2 * x7 - 0.75 * x8 + (random() - 0.5) AS y,
       x1, x2, x3, x4, x5, x6, x7, x8
FROM (SELECT random() x1, random() x2, random() x3, random() x4, random() x5, random() x6,
             random() x7, random() x8
      FROM generate_series(1, $ROWS)) s;
VACUUM ANALYZE bench_linear;
SELECT version FROM shopml.train_linear('bench_linear', 'bench_linear', 'y');
SQL

SUMS="SELECT sum(y)+sum(x1)+sum(x2)+sum(x3)+sum(x4)+sum(x5)+sum(x6)+sum(x7)+sum(x8) FROM bench_linear"
TRAIN="SELECT n_train FROM shopml.train_linear('bench_linear', 'bench_linear', 'y', options => '{\"deploy\": false}')"
FORMULA="SELECT sum(1.5 + 1.0*x1 - 2.0*x2 + 0.5*x3 + 3.0*x4 - 1.0*x5 + 0.25*x6 + 2.0*x7 - 0.75*x8) FROM bench_linear"
PREDICT="SELECT sum(shopml.predict('bench_linear', ARRAY[x1,x2,x3,x4,x5,x6,x7,x8])) FROM bench_linear"

scan=$(best "$SUMS")
train=$(best "$TRAIN")
formula=$(best "$FORMULA")
predict=$(best "$PREDICT")

echo
echo "shopml linear benchmark: $ROWS rows x 8 features, fastest of $REPS runs"
printf '  %-48s %9.1f ms\n' "baseline: sum(y)+sum(x1)+...+sum(x8)" "$scan"
printf '  %-48s %9.1f ms   ratio %.2f (target <= 1.5)\n' "train_linear (fit + holdout metrics + save)" "$train" "$(awk "BEGIN{print $train/$scan}")"
printf '  %-48s %9.1f ms\n' "baseline: linear formula written in SQL" "$formula"
printf '  %-48s %9.1f ms   ratio %.2f (target <= 1.3)\n' "sum(shopml.predict('m', ARRAY[x1..x8]))" "$predict" "$(awk "BEGIN{print $predict/$formula}")"
"${PSQL[@]}" -c "SELECT shopml.drop_model('bench_linear')" >/dev/null
