#!/usr/bin/env bash
# SQL benchmark of price experiments, measured in this run:
#   regret  shopml.simulate_price_experiment: 200 products, elasticities U(-3.5, -1.2), the
#           7-point ladder, 90 periods, 20 seeds: cumulative regret of thompson against greedy
#           and ucb (every policy learning from the sales alone, flat prior), of the demand-model
#           prior against the flat one, 360 against 90 periods, and the last 30 periods' profit
#           against the oracle's
#   speed   next_prices deciding a new period for a 100k-product experiment (products/s, and
#           against a scan of the products table), and record_sales over 1M sales rows
#           (100k products x 10 periods) against a scan of the same rows
. "$(dirname "$0")/common.sh" experiment "${1:-5499}"

"${PSQL[@]}" <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS shopml;
DELETE FROM shopml.price_experiment WHERE experiment_name LIKE 'bench_x%';
DROP TABLE IF EXISTS x_hist, x_products, x_sales;
CREATE TABLE x_hist AS SELECT * FROM shopml.sample_demand(1000, 0, 26, 3);
SELECT count(*) FROM shopml.train_demand('bench_x_demand', 'x_hist', 'product_id', 'price', 'units') \g /dev/null
-- 100k products (the demand model knows the first 1000; the others start from its pool).
CREATE TABLE x_products AS
SELECT i::bigint AS product_id, round((5 + (i % 450) / 10.0)::numeric, 2) AS price,
       round(((5 + (i % 450) / 10.0) * 0.55)::numeric, 2) AS unit_cost
FROM generate_series(1, 100000) i;
-- 1M sales rows: each product in the 10 daily periods from 2020-01-01.
CREATE TABLE x_sales AS
SELECT p.product_id, date '2020-01-01' + d AS day, p.price::float8 AS price, (p.product_id + d) % 7 AS units
FROM x_products p, generate_series(0, 9) d;
VACUUM ANALYZE x_products, x_sales;
SQL

echo "== price experiments: regret in the simulated market (means over 20 seeds)"
"${PSQL[@]}" -At -F' ' -c "SET client_min_messages = warning" -c "
  CREATE TEMP TABLE s AS SELECT * FROM shopml.simulate_price_experiment('{\"policies\": [\"thompson\", \"greedy\", \"ucb\", \"epsilon_greedy\", \"fixed\"]}');
  CREATE TEMP TABLE l AS SELECT * FROM shopml.simulate_price_experiment('{\"periods\": 360, \"policies\": [\"thompson\"]}');
  SELECT 'regret ' || prior || ' ' || policy || ' ' || round(sum(regret)) || ' ' || sum(violations)
    || ' ' || round((sum(profit) FILTER (WHERE period >= 60) / sum(oracle_profit) FILTER (WHERE period >= 60))::numeric, 4)
  FROM s GROUP BY prior, policy ORDER BY prior, policy;
  SELECT 'long ' || prior || ' ' || round(sum(regret)) || ' ' || round(sum(regret) FILTER (WHERE period < 90))
    || ' ' || sum(violations)
  FROM l GROUP BY prior ORDER BY prior;" > "$WORK/regret.txt"
awk '$1 == "regret" { printf "    %-6s %-15s cumulative regret %9s   violations %s   last 30 periods: %.2f %% of the oracle profit\n", $2, $3, $4, $5, 100 * $6 }' "$WORK/regret.txt"
r() { awk -v p="$1" -v q="$2" '$1 == "regret" && $2 == p && $3 == q { print $4 }' "$WORK/regret.txt"; }
printf '    thompson / greedy (flat prior)           %.3f  (target <= 0.7, aim 0.5)\n' "$(awk "BEGIN{print $(r flat thompson) / $(r flat greedy)}")"
printf '    thompson / ucb (flat prior)              %.3f  (target <= 0.8)\n' "$(awk "BEGIN{print $(r flat thompson) / $(r flat ucb)}")"
printf '    thompson, demand-model / flat prior      %.3f  (target <= 0.5)\n' "$(awk "BEGIN{print $(r model thompson) / $(r flat thompson)}")"
printf '    with the model prior: thompson / greedy  %.3f, thompson / ucb %.3f\n' \
  "$(awk "BEGIN{print $(r model thompson) / $(r model greedy)}")" "$(awk "BEGIN{print $(r model thompson) / $(r model ucb)}")"
awk '$1 == "long" { printf "    thompson, %-5s prior: regret(360) / regret(90) %.3f  (target <= 2.5), violations %s\n", $2, $3 / $4, $5 }' "$WORK/regret.txt"

echo "== price experiments: speed (fastest of $REPS)"
for i in $(seq "$REPS"); do
  q "SELECT count(*) FROM shopml.create_price_experiment('bench_x$i', 'bench_x_demand', 'x_products', 'product_id', '{\"start\": \"2020-01-01\", \"period\": \"1 day\"}')" >/dev/null
done
scan_products=$(best "SELECT count(*), sum(product_id), sum(price), sum(unit_cost) FROM x_products")
np=""
for i in $(seq "$REPS"); do  # each call decides a new period (period i of experiment 1)
  t=$(ms "SELECT count(*), sum(price) FROM shopml.next_prices('bench_x1', date '2020-01-01' + $i)")
  if [ -z "$np" ] || awk "BEGIN{exit !($t < $np)}"; then np=$t; fi
done
again=$(best "SELECT count(*), sum(price) FROM shopml.next_prices('bench_x1', date '2020-01-02')")
# Serve the 10 periods the sales cover in every experiment, then record them once per experiment.
for i in $(seq "$REPS"); do
  for d in $(seq 0 9); do q "SELECT count(*) FROM shopml.next_prices('bench_x$i', date '2020-01-01' + $d)" >/dev/null; done
done
scan_sales=$(best "SELECT count(*), sum(product_id), max(day), sum(price), sum(units) FROM x_sales")
rs=""
for i in $(seq "$REPS"); do
  t=$(ms "SELECT product_periods FROM shopml.record_sales('bench_x$i', 'x_sales', 'product_id', 'day', 'price', 'units')")
  if [ -z "$rs" ] || awk "BEGIN{exit !($t < $rs)}"; then rs=$t; fi
done
dup=$(best "SELECT already_recorded FROM shopml.record_sales('bench_x1', 'x_sales', 'product_id', 'day', 'price', 'units')")
recorded=$(q "SELECT sum(products_recorded) FROM shopml.experiment_report('bench_x1')")
printf '    %-58s %8.1f ms\n' "baseline: scan of the 100k products" "$scan_products"
printf '    %-58s %8.1f ms  %6.1f x the scan  %s products/s (target >= 100,000)\n' "next_prices, a new period of 100k products" "$np" \
  "$(awk "BEGIN{print $np / $scan_products}")" "$(awk "BEGIN{printf \"%'d\", 100000 / ($np / 1000)}")"
printf '    %-58s %8.1f ms\n' "next_prices, the same period again (stored prices)" "$again"
printf '    %-58s %8.1f ms\n' "baseline: scan of the 1M sales rows" "$scan_sales"
printf '    %-58s %8.1f ms  %6.2f x the scan (target <= 2)\n' "record_sales, 1M rows (1M product-periods, $recorded kept)" "$rs" "$(awk "BEGIN{print $rs / $scan_sales}")"
printf '    %-58s %8.1f ms  %6.2f x the scan\n' "record_sales again (every row already recorded)" "$dup" "$(awk "BEGIN{print $dup / $scan_sales}")"
