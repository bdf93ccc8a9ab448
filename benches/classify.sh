#!/usr/bin/env bash
# Benchmark of classification and segments against scikit-learn, measured side by side:
#   quality  held-out AUC of train_logistic vs LogisticRegression (C = 1 on standardised features,
#            the same objective) on the sample shop's ad impressions, split by impression_id;
#            the same with hashed categoricals (ad and customer ids as text, more values than
#            max_categories) vs FeatureHasher(2^18, no alternate sign) + LogisticRegression;
#            k-means inertia (standardised units) vs KMeans with the same k and n_init
#            random forest (100 trees) held-out AUC vs RandomForestClassifier on 100k x 20;
#   speed    train_forest (100 trees, 100k x 20) and predict over those rows vs a scan of them;
#            train_logistic on 5M rows x 8 features vs the nine-sum scan of the same table, and
#            vs scikit-learn's fit on the same rows already in memory
. "$(dirname "$0")/common.sh" classify "${1:-5499}"
python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore scikit-learn==1.9.1 >/dev/null

"${PSQL[@]}" <<SQL
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS shopml;
SELECT count(*) FROM shopml.load_sample_shop('cls_shop', 42) \g /dev/null
DROP TABLE IF EXISTS ctr_all, ctr_cat, km_data, big_logit, forest_data CASCADE;
CREATE TABLE ctr_all AS
SELECT i.impression_id % 5 = 0 AS is_test, i.affinity, i.position::float8 AS position,
       i.is_mobile::float8 AS is_mobile, a.quality, i.clicked
FROM cls_shop.impressions i JOIN cls_shop.ads a USING (ad_id);
CREATE VIEW ctr_train AS SELECT affinity, position, is_mobile, quality, clicked FROM ctr_all WHERE NOT is_test;
CREATE TABLE ctr_cat AS
SELECT i.impression_id % 5 = 0 AS is_test, 'ad' || i.ad_id AS ad, 'c' || i.customer_id AS customer,
       i.affinity, i.position::float8 AS position, i.is_mobile::float8 AS is_mobile, i.clicked
FROM cls_shop.impressions i;
CREATE VIEW ctr_cat_train AS SELECT ad, customer, affinity, position, is_mobile, clicked FROM ctr_cat WHERE NOT is_test;
CREATE TABLE km_data AS
SELECT count(*)::float8 AS orders, sum(total)::float8 AS spend, (DATE '2025-12-31' - max(order_date))::float8 AS days_since_last
FROM cls_shop.orders GROUP BY customer_id;
SELECT setseed(0.5) \g /dev/null
CREATE TABLE big_logit AS
SELECT x1, x2, x3, x4, x5, x6, x7, x8,
       (random() < 1 / (1 + exp(-(0.5 * x1 - x2 + 0.25 * x3 + x4 - 0.5 * x5 + 0.1 * x6 + x7 - x8)))) AS y
FROM (SELECT random() * 2 - 1 x1, random() * 2 - 1 x2, random() * 2 - 1 x3, random() * 2 - 1 x4,
             random() * 2 - 1 x5, random() * 2 - 1 x6, random() * 2 - 1 x7, random() * 2 - 1 x8
      FROM generate_series(1, ${ROWS:-5000000})) s;
SELECT setseed(0.25) \g /dev/null
CREATE TABLE forest_data AS
SELECT id, f[1] f1, f[2] f2, f[3] f3, f[4] f4, f[5] f5, f[6] f6, f[7] f7, f[8] f8, f[9] f9, f[10] f10,
       f[11] f11, f[12] f12, f[13] f13, f[14] f14, f[15] f15, f[16] f16, f[17] f17, f[18] f18, f[19] f19, f[20] f20,
       random() < 1 / (1 + exp(-(1.5 * f[1] - f[2] + 2 * f[3] * f[4] + CASE WHEN f[5] > 0.5 THEN 1 ELSE -1 END))) AS y
FROM (SELECT id, ARRAY(SELECT random() * 2 - 1 + 0 * id FROM generate_series(1, 20)) AS f FROM generate_series(1, 100000) id) s;
CREATE VIEW forest_train AS SELECT * FROM forest_data WHERE id % 5 <> 0;
VACUUM ANALYZE ctr_all, km_data, big_logit, forest_data;
\copy (SELECT (id % 5 = 0)::int, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14, f15, f16, f17, f18, f19, f20, y::int FROM forest_data) TO '$WORK/forest.csv' CSV
\copy (SELECT is_test::int, affinity, position, is_mobile, quality, clicked::int FROM ctr_all) TO '$WORK/ctr.csv' CSV
\copy km_data TO '$WORK/km.csv' CSV
\copy (SELECT is_test::int, ad, customer, affinity, position, is_mobile, clicked::int FROM ctr_cat) TO '$WORK/ctr_cat.csv' CSV
\copy (SELECT x1, x2, x3, x4, x5, x6, x7, x8, y::int FROM big_logit) TO '$WORK/big.csv' CSV
SQL

q "SELECT version FROM shopml.train_logistic('cls_ctr', 'ctr_train', 'clicked', options => '{\"test_fraction\": 0, \"l2\": 1}')" >/dev/null
auc=$(auc "clicked" "shopml.predict_proba('cls_ctr', ARRAY[affinity, position, is_mobile, quality])" "ctr_all WHERE is_test")
q "SELECT version FROM shopml.train_logistic('cls_ctr_cat', 'ctr_cat_train', 'clicked', ARRAY['ad', 'customer', 'affinity', 'position', 'is_mobile'], '{\"test_fraction\": 0, \"l2\": 1}')" >/dev/null
hashed=$(q "SELECT concat_ws(' ', params->'preparation'->'inputs'->0->>'encoding', params->'preparation'->'inputs'->1->>'encoding') FROM shopml.models WHERE model_name = 'cls_ctr_cat' ORDER BY version DESC LIMIT 1")
auc_cat=$(auc "clicked" "shopml.predict_proba('cls_ctr_cat', c)" "ctr_cat c WHERE is_test")
inertia=$(q "SELECT (metrics->>'inertia')::float8 FROM shopml.train_kmeans('cls_km', 'km_data', NULL, 4, '{\"n_init\": 4}')")
q "SELECT version FROM shopml.train_forest('cls_forest', 'forest_train', 'y', options => '{\"test_fraction\": 0}')" >/dev/null
auc_forest=$(auc "y" "shopml.predict_proba('cls_forest', f)" "forest_data f WHERE id % 5 = 0")
forest_train=$(best "SELECT n_train FROM shopml.train_forest('cls_forest_all', 'forest_data', 'y', ARRAY['f1','f2','f3','f4','f5','f6','f7','f8','f9','f10','f11','f12','f13','f14','f15','f16','f17','f18','f19','f20'], '{\"test_fraction\": 0}')")
forest_scan=$(best "SELECT sum(f1)+sum(f2)+sum(f3)+sum(f4)+sum(f5)+sum(f6)+sum(f7)+sum(f8)+sum(f9)+sum(f10)+sum(f11)+sum(f12)+sum(f13)+sum(f14)+sum(f15)+sum(f16)+sum(f17)+sum(f18)+sum(f19)+sum(f20) FROM forest_data")
forest_predict=$(best "SELECT sum(shopml.predict_proba('cls_forest_all', f)) FROM forest_data f")
forest_shape=$(q "SELECT pg_size_pretty(size_bytes) FROM shopml.models WHERE model_name = 'cls_forest_all' ORDER BY version DESC LIMIT 1")
# Where predict's time goes: the same call on a one-split forest (reading the row and calling
# the function, no trees to speak of) and on 100 trees limited to depth 8.
FEATURES="ARRAY['f1','f2','f3','f4','f5','f6','f7','f8','f9','f10','f11','f12','f13','f14','f15','f16','f17','f18','f19','f20']"
q "SELECT 1 FROM shopml.train_forest('cls_forest_stump', 'forest_data', 'y', $FEATURES, '{\"test_fraction\": 0, \"n_trees\": 1, \"max_depth\": 1}')" >/dev/null
forest_stump=$(best "SELECT sum(shopml.predict_proba('cls_forest_stump', f)) FROM forest_data f")
q "SELECT 1 FROM shopml.train_forest('cls_forest_d8', 'forest_train', 'y', $FEATURES, '{\"test_fraction\": 0, \"max_depth\": 8}')" >/dev/null
forest_d8=$(best "SELECT sum(shopml.predict_proba('cls_forest_d8', f)) FROM forest_data f")
auc_d8=$(auc "y" "shopml.predict_proba('cls_forest_d8', f)" "forest_data f WHERE id % 5 = 0")
d8_size=$(q "SELECT pg_size_pretty(size_bytes) FROM shopml.models WHERE model_name = 'cls_forest_d8' ORDER BY version DESC LIMIT 1")
# TreeSHAP (shopml.explain) of 200 rows of that forest, against predict_proba on the same rows.
shap_d8=$(best "SELECT count(*) FROM (SELECT * FROM forest_data LIMIT 200) f, LATERAL shopml.explain('cls_forest_d8', f)")
proba_200=$(best "SELECT sum(shopml.predict_proba('cls_forest_d8', f)) FROM (SELECT * FROM forest_data LIMIT 200) f")
scan=$(best "SELECT sum(x1)+sum(x2)+sum(x3)+sum(x4)+sum(x5)+sum(x6)+sum(x7)+sum(x8)+sum(y::int) FROM big_logit")
train=$(best "SELECT n_train FROM shopml.train_logistic('cls_big', 'big_logit', 'y', options => '{\"test_fraction\": 0, \"deploy\": false}')")

python3 - "$WORK" "$auc" "$inertia" "$scan" "$train" "$auc_cat" "$hashed" "$auc_forest" "$forest_train" "$forest_scan" "$forest_predict" "$forest_shape" \
  "$forest_stump" "$forest_d8" "$auc_d8" "$d8_size" "$shap_d8" "$proba_200" <<'PY'
import sys, time
import csv
import scipy.sparse as sp
from sklearn.feature_extraction import FeatureHasher
import numpy as np
from sklearn.cluster import KMeans
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import StandardScaler

work, auc, inertia, scan, train = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
auc_cat, hashed = float(sys.argv[6]), sys.argv[7]
auc_forest, forest_train, forest_scan, forest_predict, forest_size = float(sys.argv[8]), float(sys.argv[9]), float(sys.argv[10]), float(sys.argv[11]), sys.argv[12]
forest_stump, forest_d8, auc_d8, d8_size = float(sys.argv[13]), float(sys.argv[14]), float(sys.argv[15]), sys.argv[16]
shap_d8, proba_200 = float(sys.argv[17]), float(sys.argv[18])
from sklearn.ensemble import RandomForestClassifier
fd = np.loadtxt(f"{work}/forest.csv", delimiter=",")
ftest, fx, fy = fd[:, 0] == 1, fd[:, 1:21], fd[:, 21]
t = time.perf_counter()
rf = RandomForestClassifier(n_estimators=100, n_jobs=2, random_state=0).fit(fx[~ftest], fy[~ftest])
sk_rf_fit = time.perf_counter() - t
sk_auc_forest = roc_auc_score(fy[ftest], rf.predict_proba(fx[ftest])[:, 1])
t = time.perf_counter()
RandomForestClassifier(n_estimators=100, n_jobs=2, random_state=0).fit(fx, fy)
sk_rf_all = time.perf_counter() - t
sk_d8 = RandomForestClassifier(n_estimators=100, max_depth=8, n_jobs=2, random_state=0).fit(fx[~ftest], fy[~ftest])
sk_auc_d8 = roc_auc_score(fy[ftest], sk_d8.predict_proba(fx[ftest])[:, 1])
ctr = np.loadtxt(f"{work}/ctr.csv", delimiter=",")
test, x, y = ctr[:, 0] == 1, ctr[:, 1:5], ctr[:, 5]
sc = StandardScaler().fit(x[~test])
lr = LogisticRegression(C=1.0, max_iter=1000).fit(sc.transform(x[~test]), y[~test])
sk_auc = roc_auc_score(y[test], lr.predict_proba(sc.transform(x[test]))[:, 1])
rows = list(csv.reader(open(f"{work}/ctr_cat.csv")))
ctest = np.array([r[0] == "1" for r in rows])
cy = np.array([int(r[6]) for r in rows])
num = np.array([[float(v) for v in r[3:6]] for r in rows])
hasher = FeatureHasher(n_features=2**18, input_type="string", alternate_sign=False)
cats = hasher.transform([["ad=" + r[1], "customer=" + r[2]] for r in rows]).tocsr()
nsc = StandardScaler().fit(num[~ctest])
design = sp.hstack([cats, sp.csr_matrix(nsc.transform(num))]).tocsr()
clr = LogisticRegression(C=1.0, max_iter=2000).fit(design[~ctest], cy[~ctest])
sk_auc_cat = roc_auc_score(cy[ctest], clr.predict_proba(design[ctest])[:, 1])
km = np.loadtxt(f"{work}/km.csv", delimiter=",")
z = StandardScaler().fit_transform(km)
sk_inertia = KMeans(n_clusters=4, n_init=4, random_state=0).fit(z).inertia_
big = np.loadtxt(f"{work}/big.csv", delimiter=",")
bx, by = big[:, :8], big[:, 8]
t = time.perf_counter()
LogisticRegression(C=1.0, max_iter=1000).fit(StandardScaler().fit_transform(bx), by)
sk_fit = (time.perf_counter() - t) * 1000
print()
print("shopml classification and segments benchmark (against scikit-learn, same data)")
print(f"  logistic, sample shop impressions, held-out AUC: shopml {auc:.5f}  scikit-learn {sk_auc:.5f}  difference {abs(auc - sk_auc):.5f} (target <= 0.005)")
print(f"  logistic with hashed ad and customer ids ({hashed}), held-out AUC: shopml {auc_cat:.5f}  scikit-learn FeatureHasher {sk_auc_cat:.5f}  difference {abs(auc_cat - sk_auc_cat):.5f} (target <= 0.005)")
print(f"  random forest, 100 trees, 80k x 20 train / 20k held out, AUC: shopml {auc_forest:.5f}  scikit-learn {sk_auc_forest:.5f}  difference {abs(auc_forest - sk_auc_forest):.5f} (target <= 0.005)")
print(f"  random forest, 100 trees on 100k x 20: train_forest {forest_train / 1000:.2f} s, scikit-learn fit (n_jobs=2, in memory) {sk_rf_all:.2f} s; model {forest_size}")
print(f"  predict_proba over the 100k rows: {forest_predict:.0f} ms vs a 20-column scan {forest_scan:.0f} ms (ratio {forest_predict / forest_scan:.1f}, target <= 3)")
print(f"    the same call on a one-split forest {forest_stump:.0f} ms (ratio {forest_stump / forest_scan:.1f}: reading each row and calling the function)")
print(f"    100 trees of depth <= 8 ({d8_size}): {forest_d8:.0f} ms (ratio {forest_d8 / forest_scan:.1f}); held-out AUC {auc_d8:.5f}, scikit-learn max_depth=8 {sk_auc_d8:.5f}")
print(f"  explain (exact TreeSHAP) one row of those 100 trees of depth <= 8, 20 features: {shap_d8 / 200:.2f} ms (target <= 5), "
      f"predict_proba {proba_200 / 200:.3f} ms a row; ratio {shap_d8 / max(proba_200, 1e-9):.0f}")
print(f"  k-means k=4 n_init=4, standardised customers, inertia: shopml {inertia:.3f}  scikit-learn {sk_inertia:.3f}  ratio {inertia / sk_inertia:.4f} (target <= 1.02)")
print(f"  logistic on {len(by):,} rows x 8: scan {scan:.0f} ms, train_logistic {train:.0f} ms (ratio {train / scan:.1f}, target <= 10, goal 5), "
      f"scikit-learn fit in memory {sk_fit:.0f} ms (shopml / scikit-learn {train / sk_fit:.2f})")
PY
