#!/usr/bin/env bash
# SQL benchmark of pricing, measured in this run:
#   accuracy  shopml.sample_demand(500 products, the last 100 sold only 10 weeks; 104 weeks;
#             10-60 units a week): median |estimated − true elasticity| by history length,
#             against the pooled mean alone, and the share of the true optimal profit that the
#             recommended prices capture; the same on the sample shop (2-10 units a week)
#   speed     train_demand on 100k products x 26 weeks vs a scan of the table, and pricing the
#             100k-product catalogue with one LATERAL query (products/s) vs the closed form
#             written in SQL over the same rows
. "$(dirname "$0")/common.sh" pricing "${1:-5499}"

"${PSQL[@]}" <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS shopml;
DROP TABLE IF EXISTS demand_sales, demand_truth, catalogue_sales, catalogue;
CREATE TABLE demand_sales AS SELECT * FROM shopml.sample_demand(500, 100, 104, 42);
CREATE TABLE demand_truth AS
SELECT product_id, min(true_elasticity) AS e, min(unit_cost) AS cost, count(*) AS weeks
FROM demand_sales GROUP BY 1;
CREATE TABLE catalogue_sales AS SELECT * FROM shopml.sample_demand(100000, 0, 26, 7);
CREATE TABLE catalogue AS
SELECT product_id, min(unit_cost) AS cost, min(true_elasticity) AS e
FROM catalogue_sales GROUP BY 1;
VACUUM ANALYZE demand_sales, catalogue_sales, catalogue;
SELECT count(*) FROM shopml.load_sample_shop('bench_shop', 42) \g /dev/null
SQL


accuracy() { # MODEL TRUTH_QUERY -> lines "weeks products median_err pooled_err shrunk_share"
  "${PSQL[@]}" -At -F' ' <<SQL
WITH t AS ($2),
     e AS (SELECT e.*, t.e AS true_e, t.weeks FROM shopml.demand_elasticities('$1') e
           JOIN t ON t.product_id = e.product_id::bigint),
     pooled AS (SELECT (metrics->>'pooled_elasticity')::float8 AS m FROM shopml.models WHERE model_name = '$1' AND deployed)
SELECT CASE WHEN weeks >= 100 THEN 'long' ELSE 'short' END, count(*),
       round(percentile_cont(0.5) WITHIN GROUP (ORDER BY abs(elasticity - true_e))::numeric, 3),
       round(percentile_cont(0.5) WITHIN GROUP (ORDER BY abs((SELECT m FROM pooled) - true_e))::numeric, 3),
       round(avg(shrunk::int), 2)
FROM e GROUP BY 1 ORDER BY 1;
SQL
}
capture() { # MODEL TRUTH_QUERY -> median share of the true optimal profit
  "${PSQL[@]}" -At <<SQL
WITH t AS ($2)
SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY
         ((o.price - t.cost) * o.price ^ t.e) /
         ((t.cost * t.e / (1 + t.e) - t.cost) * (t.cost * t.e / (1 + t.e)) ^ t.e))::numeric, 4)
FROM t, LATERAL shopml.optimal_price('$1', t.product_id, t.cost) o;
SQL
}

"${PSQL[@]}" -c "SELECT version FROM shopml.train_demand('bench_demand', 'demand_sales', 'product_id', 'price', 'units', ARRAY['promo'])" >/dev/null
acc=$(accuracy bench_demand "SELECT * FROM demand_truth")
cap=$(capture bench_demand "SELECT * FROM demand_truth")
"${PSQL[@]}" -c "CREATE OR REPLACE VIEW bench_shop.sales AS SELECT w.*, p.category_id FROM bench_shop.weekly_sales w JOIN bench_shop.products p USING (product_id)" \
  -c "SELECT version FROM shopml.train_demand('bench_shop_demand', 'bench_shop.sales', 'product_id', 'price', 'units', ARRAY['promo'])" >/dev/null
SHOP_TRUTH="SELECT p.product_id, p.true_elasticity AS e, p.unit_cost::float8 AS cost, (SELECT count(*) FROM bench_shop.weekly_sales w WHERE w.product_id = p.product_id) AS weeks FROM bench_shop.products p"
shop_acc=$(accuracy bench_shop_demand "$SHOP_TRUTH")
shop_cap=$(capture bench_shop_demand "$SHOP_TRUTH")

scan=$(best "SELECT count(*), sum(price), sum(units), sum(promo::int) FROM catalogue_sales")
train=$(best "SELECT n_products FROM shopml.train_demand('bench_catalogue', 'catalogue_sales', 'product_id', 'price', 'units', ARRAY['promo'])")
formula=$(best "SELECT sum(cost * e / (1 + e)) FROM catalogue")
price_all=$(best "SELECT sum(o.price) FROM catalogue c, LATERAL shopml.optimal_price('bench_catalogue', c.product_id, c.cost, options => jsonb_build_object('current_price', c.cost * 1.8, 'max_change', 0.2)) o")

echo
echo "shopml pricing benchmark"
echo "  accuracy: sample_demand(500, 100, 104 weeks), controls: promo"
echo "$acc" | while read -r kind n err pooled shrunk; do
  printf '    %-5s history (%3s products): median |error| %.3f (target %s; pooled mean alone %.3f); shrunk %s\n' \
    "$kind" "$n" "$err" "$([ "$kind" = long ] && echo '<= 0.15' || echo '<= 0.45')" "$pooled" "$shrunk"
done
printf '    median share of the true optimal profit captured: %.4f (target >= 0.97)\n' "$cap"
echo "  accuracy: the sample shop's weekly_sales (2-10 units a week: harder)"
echo "$shop_acc" | while read -r kind n err pooled shrunk; do
  printf '    %-5s history (%3s products): median |error| %.3f (pooled mean alone %.3f); shrunk %s\n' "$kind" "$n" "$err" "$pooled" "$shrunk"
done
printf '    median share of the true optimal profit captured: %.4f\n' "$shop_cap"
echo "  speed: 100,000 products x 26 weeks (2.6M rows)"
printf '    %-52s %9.1f ms\n' "baseline: scan of the sales table" "$scan"
printf '    %-52s %9.1f ms   ratio %.1f\n' "train_demand (read, two Newton fits, shrinkage, save)" "$train" "$(awk "BEGIN{print $train/$scan}")"
printf '    %-52s %9.1f ms\n' "baseline: closed-form price in SQL over 100k rows" "$formula"
printf '    %-52s %9.1f ms   %.0f products/s\n' "LATERAL optimal_price over the catalogue" "$price_all" "$(awk "BEGIN{print 100000000/$price_all}")"
