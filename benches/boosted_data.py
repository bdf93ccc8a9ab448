"""Data, split, LightGBM reference and SQL plumbing shared by benches/boosted.py and
tests/client/test_boosted_reference.py (gradient-boosted trees against LightGBM).

Every data set is generated from a seeded numpy Generator (or read from the copy scikit-learn
ships inside its wheel), so a run repeats exactly: same rows, same split, same LightGBM model.

A data set lives in PostgreSQL as a table `bst_<name>` (id bigint, is_test boolean, for
ranking query_id bigint, the features as float8, the target: boolean for binary, float8 for
regression, integer for poisson and lambdarank; NaN in numpy is NULL in the table) and a view
`bst_<name>_train` of its training rows without id and is_test (with query_id, the group
column, for ranking). shopml trains on the view; LightGBM on the same rows as numpy arrays;
both are scored on the `is_test` rows (about 20 %, the same rows for both; for ranking, about
20 % of the queries, every row of a query on the same side).
"""
import json
import math
import re
import struct
import time
from dataclasses import dataclass

import numpy as np

LIGHTGBM_VERSION = "4.7.0"  # pinned in scripts/bootstrap
THREADS = 2
# The shared training parameters (shopml option names); LightGBM gets the same through
# lightgbm_params(). test_fraction 0: the harness holds out its own rows.
PARAMS = {"n_trees": 100, "learning_rate": 0.1, "num_leaves": 31, "min_data_in_leaf": 20,
          "max_bins": 255, "l2": 0.0, "seed": 42}
# shopml passes when: AUC >= LightGBM - 0.002, log loss <= LightGBM * 1.01, rmse (and, for
# poisson, the mean deviance) <= LightGBM * 1.01, for lambdarank ndcg@10 >= LightGBM - 0.005.
AUC_SLACK, RATIO = 0.002, 1.01
NDCG_SLACK, RANK_K = 0.005, 10


@dataclass
class DataSet:
    name: str              # table bst_<name>, view bst_<name>_train, model bst_<name>
    objective: str         # binary | regression | poisson | lambdarank
    features: list
    target: str
    X: np.ndarray          # float64 (rows, features), NaN = missing (NULL in the table)
    y: np.ndarray          # bool (binary), float64 (regression), int64 (poisson, lambdarank)
    is_test: np.ndarray    # bool (rows,)
    about: str = ""
    # lambdarank only: the query of each row (int64, non-decreasing: the rows of a query are
    # contiguous, in query_id order, as LightGBM needs), stored as the column group_column.
    group: np.ndarray = None
    group_column: str = "query_id"

    @property
    def table(self):
        return f"bst_{self.name}"

    @property
    def view(self):
        return f"bst_{self.name}_train"

    @property
    def model(self):
        return f"bst_{self.name}"

    @property
    def n(self):
        return len(self.y)

    def train(self):
        return self.X[~self.is_test], self.y[~self.is_test]

    def test(self):
        return self.X[self.is_test], self.y[self.is_test]

    @property
    def test_group(self):
        """The query of each test row (None when the set is not a ranking set)."""
        return None if self.group is None else self.group[self.is_test]

    def train_group_sizes(self):
        """Rows of each training query in row order (LightGBM's group=)."""
        return run_lengths(self.group[~self.is_test])


def test_mask(n, seed, fraction=0.2):
    """Exactly round(fraction * n) test rows, chosen by a seeded permutation."""
    mask = np.zeros(n, bool)
    mask[np.random.default_rng(seed).permutation(n)[: int(round(fraction * n))]] = True
    return mask


def _label(n):
    return f"{n // 1_000_000}m" if n % 1_000_000 == 0 else f"{n // 1000}k" if n % 1000 == 0 else str(n)


def ctr(n, seed=1):
    """Synthetic click-through: 20 numeric features, a click rate of ~10 %.

    x1 uniform(-1, 1), x2 x3 normal, x4 ad position 1..10, x5 price (lognormal), x6 past CTR
    (beta), x7 hour 0..23, x8 uniform(0, 1), x9 days since last visit (exponential), x10 mobile
    0/1, x11..x14 normal with small effects, x15..x20 noise (normal, uniform, a 5-valued code).
    The log-odds mix a sine, products (x2*x3, x10*x8), thresholds, a bump in the hour and a
    quadratic in log price. ~5 % NULL in x1, x5, x8 (at random) and x12 (more often when x12 is
    large, so missingness carries information), set after the label is drawn."""
    rng = np.random.default_rng(seed)
    X = np.empty((n, 20))
    X[:, 0] = rng.uniform(-1, 1, n)
    X[:, 1] = rng.normal(0, 1, n)
    X[:, 2] = rng.normal(0, 1, n)
    X[:, 3] = rng.integers(1, 11, n)
    X[:, 4] = np.round(rng.lognormal(3.0, 0.7, n), 2)
    X[:, 5] = rng.beta(2, 30, n)
    X[:, 6] = rng.integers(0, 24, n)
    X[:, 7] = rng.uniform(0, 1, n)
    X[:, 8] = rng.exponential(7.0, n)
    X[:, 9] = rng.integers(0, 2, n)
    X[:, 10:14] = rng.normal(0, 1, (n, 4))
    X[:, 14:17] = rng.normal(0, 1, (n, 3))
    X[:, 17:19] = rng.uniform(0, 1, (n, 2))
    X[:, 19] = rng.integers(0, 5, n)
    x = X.T
    logit = (-2.2 + 0.9 * np.sin(3 * x[0]) + 0.7 * x[1] * x[2]
             - 0.12 * (x[3] - 1) + 0.5 * (x[3] <= 2)
             - 0.6 * np.log(x[4] / 20.0) ** 2
             + 15.0 * (x[5] - 0.0625)
             + 0.4 * np.exp(-((x[6] - 20) ** 2) / 8.0)
             + 0.8 * x[9] * (x[7] - 0.5) + 0.3 * (x[7] > 0.8)
             - 0.15 * np.log1p(x[8])
             + 0.25 * x[10] - 0.2 * x[11] + 0.15 * np.abs(x[12]) + 0.2 * x[13] * (x[10] > 0))
    y = rng.random(n) < 1.0 / (1.0 + np.exp(-logit))
    for j in (0, 4, 7):
        X[rng.random(n) < 0.05, j] = np.nan
    X[rng.random(n) < np.where(X[:, 11] > 1.0, 0.2, 0.025), 11] = np.nan
    return DataSet(f"ctr_{_label(n)}", "binary", [f"x{j}" for j in range(1, 21)], "clicked", X, y,
                   test_mask(n, seed + 1000), "synthetic click-through, 20 features, ~5 % NULL in x1 x5 x8 x12")


def basket(n, seed=2):
    """Synthetic basket value (regression): 20 numeric features, a non-negative target with
    nonlinear effects (a sine, products, a threshold, a square, a log) and normal noise of
    sd 6 (heavier for big baskets); x13..x20 are noise."""
    rng = np.random.default_rng(seed)
    X = np.empty((n, 20))
    X[:, 0] = rng.integers(1, 13, n)              # items in the basket
    X[:, 1] = rng.uniform(-1, 1, n)
    X[:, 2] = rng.normal(0, 1, n)
    X[:, 3] = rng.normal(0, 1, n)
    X[:, 4] = rng.uniform(0, 1, n)
    X[:, 5] = rng.lognormal(0, 0.5, n)
    X[:, 6] = rng.normal(0, 1, n)
    X[:, 7] = rng.exponential(30.0, n)            # days since the previous order
    X[:, 8] = rng.integers(0, 2, n)               # loyalty member
    X[:, 9] = rng.integers(0, 7, n)               # weekday
    X[:, 10:12] = rng.normal(0, 1, (n, 2))
    X[:, 12:20] = rng.normal(0, 1, (n, 8))
    x = X.T
    mean = (10 + 6.0 * x[0] + 12 * np.sin(2.5 * x[1]) + 5 * x[2] * x[3]
            + 10 * (x[4] > 0.6) * x[5] + 2.5 * x[6] ** 2 + 4 * np.log1p(x[7])
            + 8 * x[8] + 3 * (x[9] >= 5) + 2 * x[10] - 1.5 * x[11] * (x[9] < 2))
    y = np.maximum(mean + rng.normal(0, 1, n) * (4 + 0.05 * np.abs(mean)), 0.0)
    return DataSet(f"basket_{_label(n)}", "regression", [f"x{j}" for j in range(1, 21)],
                   "basket_value", X, y, test_mask(n, seed + 1000), "synthetic basket value, 20 features")


def units(n, seed=3):
    """Synthetic units sold a product-day (poisson): price against its reference price
    (elasticity -2), promotion and display flags, weekday, week of the year, store size and a
    competitor's price; counts average ~3 (15 % zeros)."""
    rng = np.random.default_rng(seed)
    ref = np.round(rng.lognormal(2.5, 0.6, n), 2)
    price = np.round(ref * rng.uniform(0.6, 1.3, n), 2)
    promo = (rng.random(n) < 0.15).astype(float)
    display = (rng.random(n) < 0.1).astype(float)
    weekday = rng.integers(0, 7, n).astype(float)
    week = rng.integers(1, 53, n).astype(float)
    store = np.round(rng.lognormal(7.0, 0.5, n))   # square metres
    comp = np.round(ref * rng.uniform(0.7, 1.4, n), 2)
    log_mu = (0.5 - 2.0 * np.log(price / ref) + 0.5 * promo + 0.3 * display * (1 + promo)
              + 0.25 * (weekday >= 5) + 0.3 * np.sin(2 * math.pi * week / 52)
              + 0.5 * np.log(store / 1100.0) + 0.6 * np.clip(np.log(comp / price), -0.3, 0.3)
              - 0.2 * np.log(ref / 12.0))
    y = rng.poisson(np.exp(log_mu)).astype(np.int64)
    X = np.column_stack([price, ref, promo, display, weekday, week, store, comp])
    return DataSet(f"units_{_label(n)}", "poisson",
                   ["price", "ref_price", "promo", "display", "weekday", "week", "store_size", "competitor_price"],
                   "units", X, y, test_mask(n, seed + 1000), "synthetic units sold vs price, 8 features")


def search_sessions(n_queries, seed=4):
    """Synthetic search sessions (lambdarank): n_queries queries, each showing 10..40 products;
    per shown row the query_id (increasing, with gaps), 12 numeric features and the relevance
    0 (not clicked), 1 (clicked) or 2 (bought): ~80 % 0, ~14 % 1, ~6 % 2.

    price (lognormal around the query's price level), price_rel (price / the median price of
    the query's rows), popularity (log sales, lognormal), text_match (gamma around a query
    offset), rating (1..5, ~3 % NULL), reviews (log1p of a count), discount (0 for 75 % of
    rows), brand_affinity (the user's affinity to the brand, 0..1, ~3 % NULL), days_listed
    (exponential), noise_1..noise_3 (normal, uniform, a 4-valued code). No displayed position:
    every signal is position-independent. The latent utility is nonlinear: log1p of the text
    match with a step at 3, a quadratic in log price_rel, a saturating popularity, rating times
    review confidence, a discount that only helps items dearer than the query's median, the
    square of brand affinity and a bump for new listings; a query-level offset and logistic
    noise draw the click, a second draw (likelier when cheaper) the purchase. NULLs are set
    after the labels are drawn. The split holds out round(0.2 * n_queries) whole queries."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(10, 41, n_queries)
    n = int(sizes.sum())
    q = np.repeat(np.arange(n_queries), sizes)
    query_id = (1000 + np.cumsum(rng.integers(1, 4, n_queries))).astype(np.int64)
    level = rng.lognormal(3.0, 1.0, n_queries)[q]
    match_offset = rng.normal(0, 0.5, n_queries)[q]
    query_bias = rng.normal(0, 0.5, n_queries)[q]

    price = np.maximum(np.round(level * rng.lognormal(0, 0.45, n), 2), 0.01)
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    median = np.array([np.median(price[a:a + k]) for a, k in zip(starts, sizes)])[q]
    price_rel = price / median
    popularity = rng.normal(3.0, 1.2, n)                                    # log sales
    text_match = rng.gamma(2.0, 1.0, n) * np.exp(0.3 * match_offset)
    rating = np.clip(np.round(rng.normal(4.0, 0.6, n), 1), 1.0, 5.0)
    reviews = np.log1p(rng.negative_binomial(1, 0.02, n).astype(float))
    discount = np.where(rng.random(n) < 0.25, np.round(rng.uniform(0.05, 0.5, n), 2), 0.0)
    brand_affinity = rng.beta(1.2, 2.5, n)
    days_listed = np.round(rng.exponential(120.0, n))
    noise_1 = rng.normal(0, 1, n)
    noise_2 = rng.uniform(0, 1, n)
    noise_3 = rng.integers(0, 4, n).astype(float)

    lp = np.log(price_rel)
    utility = (1.4 * np.log1p(text_match) + 0.6 * (text_match > 3.0)
               - 1.8 * (lp + 0.1) ** 2
               + 0.9 * np.tanh(popularity - 3.0)
               + 0.8 * (rating - 4.0) * np.minimum(1.0, reviews / 4.0)
               + 2.0 * discount * (price_rel > 1.0)
               + 1.5 * brand_affinity ** 2
               + 0.5 * np.exp(-days_listed / 30.0))
    click_logit = -3.4 + utility + query_bias
    clicked = rng.random(n) < 1.0 / (1.0 + np.exp(-click_logit))
    buy_logit = -1.6 + 0.6 * (utility - 1.5) - 0.8 * lp
    bought = clicked & (rng.random(n) < 1.0 / (1.0 + np.exp(-buy_logit)))
    relevance = clicked.astype(np.int64) + bought

    X = np.column_stack([price, price_rel, popularity, text_match, rating, reviews, discount,
                         brand_affinity, days_listed, noise_1, noise_2, noise_3])
    X[rng.random(n) < 0.03, 4] = np.nan
    X[rng.random(n) < 0.03, 7] = np.nan
    is_test = test_mask(n_queries, seed + 1000)[q]
    return DataSet(f"rank_{_label(n_queries)}", "lambdarank",
                   ["price", "price_rel", "popularity", "text_match", "rating", "reviews", "discount",
                    "brand_affinity", "days_listed", "noise_1", "noise_2", "noise_3"],
                   "relevance", X, relevance, is_test,
                   f"synthetic search sessions, {n_queries} queries of 10..40 products, 12 features, "
                   "~3 % NULL in rating and brand_affinity", group=query_id[q])


def _sql_name(s):
    return re.sub(r"[^a-z0-9]+", "_", s.lower()).strip("_")


def breast_cancer():
    """scikit-learn's copy of the Wisconsin diagnostic breast cancer data (569 x 30); target:
    benign (true) or malignant."""
    from sklearn.datasets import load_breast_cancer
    d = load_breast_cancer()
    return DataSet("breast_cancer", "binary", [_sql_name(f) for f in d.feature_names], "benign",
                   np.asarray(d.data, float), d.target == 1, test_mask(len(d.target), 7),
                   "sklearn load_breast_cancer, 30 features")


def diabetes():
    """scikit-learn's copy of the diabetes data (442 x 10, features as shipped: centred and
    scaled); target: disease progression after one year."""
    from sklearn.datasets import load_diabetes
    d = load_diabetes()
    return DataSet("diabetes", "regression", [_sql_name(f) for f in d.feature_names], "progression",
                   np.asarray(d.data, float), np.asarray(d.target, float), test_mask(len(d.target), 7),
                   "sklearn load_diabetes, 10 features")


# ---------------------------------------------------------------------------------- metrics

def auc(y, p):
    """Area under the ROC curve (Mann-Whitney rank sum, tied scores share their mean rank)."""
    from scipy.stats import rankdata
    y = np.asarray(y, bool)
    r = rankdata(p)
    n1 = y.sum()
    n0 = len(y) - n1
    return float((r[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def log_loss(y, p):
    p = np.clip(np.asarray(p, float), 1e-15, 1 - 1e-15)
    y = np.asarray(y, float)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log1p(-p)))


def rmse(y, yhat):
    return float(np.sqrt(np.mean((np.asarray(y, float) - np.asarray(yhat, float)) ** 2)))


def poisson_deviance(y, mu):
    """Mean Poisson deviance 2 * (y log(y / mu) - (y - mu)), y log y = 0 at y = 0."""
    y = np.asarray(y, float)
    mu = np.maximum(np.asarray(mu, float), 1e-12)
    with np.errstate(divide="ignore", invalid="ignore"):
        ylogy = np.where(y > 0, y * np.log(y / mu), 0.0)
    return float(np.mean(2 * (ylogy - (y - mu))))


def run_lengths(group):
    """Lengths of the runs of equal values of group, in row order."""
    g = np.asarray(group)
    if len(g) == 0:
        return np.zeros(0, np.int64)
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    return np.diff(np.r_[starts, len(g)])


def ndcg_map_at(y, score, group, k=RANK_K):
    """(mean ndcg@k, mean map@k) over the queries (runs of equal group values in row order).

    Each query's rows are ranked by a stable sort of -score (ties keep row order). ndcg: gain
    2^rel - 1, discount 1 / log2(rank + 1) with ranks from 1, over the top k, divided by the
    ideal DCG of the query's true relevances; a query whose ideal DCG is 0 counts as 1.
    map: relevant = rel > 0; the sum of precision@i at the relevant ranks i <= k divided by
    min(relevant rows of the query, k, rows of the query); a query with no relevant row counts
    as 1. Both are LightGBM's conventions (its ndcg and map metrics)."""
    y = np.asarray(y, float)
    score = np.asarray(score, float)
    disc = 1.0 / np.log2(np.arange(2, k + 2))
    ndcg, ap = [], []
    a = 0
    for size in run_lengths(group):
        rel, s = y[a:a + size], score[a:a + size]
        a += size
        top = rel[np.argsort(-s, kind="stable")[:k]]
        ideal = np.sort(rel)[::-1][:k]
        idcg = float(((2.0 ** ideal - 1) * disc[:len(ideal)]).sum())
        dcg = float(((2.0 ** top - 1) * disc[:len(top)]).sum())
        ndcg.append(dcg / idcg if idcg > 0 else 1.0)
        npos = int((rel > 0).sum())
        hits = top > 0
        prec = np.cumsum(hits) / np.arange(1, len(top) + 1)
        ap.append(float(prec[hits].sum()) / min(npos, len(top)) if npos > 0 else 1.0)
    return float(np.mean(ndcg)), float(np.mean(ap))


def metrics(objective, y, pred, group=None):
    """Held-out quality of predictions pred (probabilities, expected values or, for
    lambdarank, ranking scores; group: the query of each row, rows of a query contiguous)."""
    if objective == "lambdarank":
        ndcg, map_ = ndcg_map_at(y, pred, group)
        return {f"ndcg@{RANK_K}": ndcg, f"map@{RANK_K}": map_}
    if objective == "binary":
        return {"auc": auc(y, pred), "log_loss": log_loss(y, pred)}
    if objective == "poisson":
        return {"poisson_deviance": poisson_deviance(y, pred), "rmse": rmse(y, pred)}
    return {"rmse": rmse(y, pred)}


def checks(objective, shop, ref):
    """[(metric, shopml, lightgbm, limit, sense, ok)] for the tolerances of the objective."""
    out = []
    if objective == "binary":
        limit = ref["auc"] - AUC_SLACK
        out.append(("auc", shop["auc"], ref["auc"], limit, ">=", shop["auc"] >= limit))
        limit = ref["log_loss"] * RATIO
        out.append(("log_loss", shop["log_loss"], ref["log_loss"], limit, "<=", shop["log_loss"] <= limit))
    elif objective == "lambdarank":
        m = f"ndcg@{RANK_K}"
        limit = ref[m] - NDCG_SLACK
        out.append((m, shop[m], ref[m], limit, ">=", shop[m] >= limit))
        m = f"map@{RANK_K}"
        out.append((m, shop[m], ref[m], None, "", True))  # shown, not checked
    elif objective == "poisson":
        limit = ref["poisson_deviance"] * RATIO
        out.append(("poisson_deviance", shop["poisson_deviance"], ref["poisson_deviance"], limit, "<=",
                    shop["poisson_deviance"] <= limit))
        out.append(("rmse", shop["rmse"], ref["rmse"], None, "", True))  # shown, not checked
    else:
        limit = ref["rmse"] * RATIO
        out.append(("rmse", shop["rmse"], ref["rmse"], limit, "<=", shop["rmse"] <= limit))
    return out


# --------------------------------------------------------------------------------- LightGBM

def lightgbm_model(objective, params=PARAMS):
    """The LightGBM estimator with the same parameters as shopml's options: no bagging, no
    feature sampling, min_child_weight (min_sum_hessian_in_leaf) at its default 1e-3, NaN as
    missing (LightGBM's default), 2 threads. lambdarank: LGBMRanker (fit with group=), its
    other ranking parameters at their defaults (label_gain 2^i - 1,
    lambdarank_truncation_level 30, lambdarank_norm true)."""
    import lightgbm
    cls = (lightgbm.LGBMClassifier if objective == "binary" else lightgbm.LGBMRanker
           if objective == "lambdarank" else lightgbm.LGBMRegressor)
    return cls(objective=objective, n_estimators=params["n_trees"], learning_rate=params["learning_rate"],
               num_leaves=params["num_leaves"], min_child_samples=params["min_data_in_leaf"],
               max_bin=params["max_bins"], reg_lambda=params["l2"], random_state=params["seed"],
               n_jobs=THREADS, verbose=-1)


def lightgbm_predict(model, objective, X):
    return model.predict_proba(X)[:, 1] if objective == "binary" else model.predict(X)


def _timed(fn, reps):
    """(fn()'s result, the fastest of reps wall-clock runs in seconds)."""
    best = None
    for _ in range(reps):
        t = time.perf_counter()
        out = fn()
        secs = time.perf_counter() - t
        best = secs if best is None else min(best, secs)
    return out, best


def run_lightgbm(ds, params=PARAMS, reps=1):
    """Fits on the training rows, scores the test rows and all rows (each the fastest of reps
    runs; the model is the same every time). Returns a dict with the held-out metrics, fit_s,
    predict_test_s, predict_all_s and the test predictions. lambdarank: fit with group= the
    sizes of the training queries in row order (the rows are in query_id order)."""
    Xtr, ytr = ds.train()
    Xte, yte = ds.test()
    ytr = ytr.astype(int) if ds.objective == "binary" else ytr
    fit_kw = {}
    if ds.objective == "lambdarank":
        assert np.all(np.diff(ds.group) >= 0), "ranking rows must be sorted by query"
        fit_kw["group"] = ds.train_group_sizes()
    model, fit_s = _timed(lambda: lightgbm_model(ds.objective, params).fit(Xtr, ytr, **fit_kw), reps)
    pred, predict_test_s = _timed(lambda: lightgbm_predict(model, ds.objective, Xte), reps)
    _, predict_all_s = _timed(lambda: lightgbm_predict(model, ds.objective, ds.X), reps)
    return {"metrics": metrics(ds.objective, yte, pred, ds.test_group), "fit_s": fit_s,
            "predict_test_s": predict_test_s, "predict_all_s": predict_all_s, "pred": pred}


# -------------------------------------------------------------------------------------- SQL

TRAIN_BOOSTED = "shopml.train_boosted(text,regclass,text,text[],jsonb)"
_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)
_TRAILER = struct.pack("!h", -1)


def has_train_boosted(conn):
    return conn.execute("SELECT to_regprocedure(%s) IS NOT NULL", (TRAIN_BOOSTED,)).fetchone()[0]


def _columns(ds):
    """(name, SQL type, big-endian numpy dtype, values, null mask or None) of the table."""
    ids = np.arange(1, ds.n + 1, dtype=np.int64)
    cols = [("id", "bigint", ">i8", ids, None), ("is_test", "boolean", "?", ds.is_test, None)]
    if ds.group is not None:
        cols.append((ds.group_column, "bigint", ">i8", ds.group, None))
    for j, f in enumerate(ds.features):
        nulls = np.isnan(ds.X[:, j])
        cols.append((f, "float8", ">f8", ds.X[:, j], nulls if nulls.any() else None))
    target = {"binary": ("boolean", "?"), "regression": ("float8", ">f8"), "poisson": ("integer", ">i4"),
              "lambdarank": ("integer", ">i4")}
    sql_type, dtype = target[ds.objective]
    cols.append((ds.target, sql_type, dtype, ds.y, None))
    for name, *_ in cols:
        assert re.fullmatch(r"[a-z_][a-z0-9_]*", name), name
    return cols


def copy_binary_chunks(cols, chunk=100_000):
    """The rows of cols in PostgreSQL's binary COPY format (signature, tuples, trailer), built
    with numpy a chunk of rows at a time: each tuple is a 16-bit field count, then per field a
    32-bit length (-1 for NULL, with no bytes after it) and the big-endian value."""
    n = len(cols[0][3])
    dtype = np.dtype([("count", ">i2")] + [x for k, c in enumerate(cols)
                                           for x in ((f"l{k}", ">i4"), (f"v{k}", c[2]))])
    yield _SIGNATURE
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        rec = np.empty(stop - start, dtype)
        rec["count"] = len(cols)
        keep = None
        for k, (_, _, dt, values, nulls) in enumerate(cols):
            size = np.dtype(dt).itemsize
            v = values[start:stop]
            if nulls is None:
                rec[f"l{k}"] = size
                rec[f"v{k}"] = v
                continue
            m = nulls[start:stop]
            rec[f"l{k}"] = np.where(m, -1, size)
            rec[f"v{k}"] = np.where(m, 0, v)
            if keep is None:
                keep = np.ones((stop - start, dtype.itemsize), bool)
            off = dtype.fields[f"v{k}"][1]
            keep[m, off:off + size] = False
        raw = rec.view(np.uint8).reshape(stop - start, dtype.itemsize)
        yield (raw[keep] if keep is not None else raw).tobytes()
    yield _TRAILER


def load(conn, ds):
    """(Re)creates the table and the training view of ds and fills the table by binary COPY.
    Returns the seconds it took."""
    t = time.perf_counter()
    cols = _columns(ds)
    conn.execute(f"DROP TABLE IF EXISTS {ds.table} CASCADE")
    conn.execute(f"CREATE TABLE {ds.table} (" + ", ".join(f"{c[0]} {c[1]}" for c in cols) + ")")
    with conn.cursor() as cur:
        with cur.copy(f"COPY {ds.table} ({', '.join(c[0] for c in cols)}) FROM STDIN (FORMAT BINARY)") as copy:
            for block in copy_binary_chunks(cols):
                copy.write(block)
    conn.execute(f"VACUUM ANALYZE {ds.table}")
    group = [] if ds.group is None else [ds.group_column]  # the group column, not a feature
    conn.execute(f"CREATE VIEW {ds.view} AS SELECT {', '.join(group + ds.features)}, {ds.target} "
                 f"FROM {ds.table} WHERE NOT is_test")
    return time.perf_counter() - t


def shopml_options(objective, params=PARAMS, group_column=None):
    """train_boosted's options: the objective, params, test_fraction 0 and, for lambdarank,
    group_column (the query column of the training view, not one of the features)."""
    opts = {"objective": objective, **params, "test_fraction": 0}
    if group_column is not None:
        opts["group_column"] = group_column
    return json.dumps(opts)


def train_shopml(conn, ds, params=PARAMS, reps=1):
    """Trains shopml on the training view (SET shopml.threads = 2 first); with reps > 1 trains
    again (new versions of the same model) and keeps the fastest. Returns (seconds of the whole
    call, n_train, n_test, metrics jsonb)."""
    conn.execute(f"SET shopml.threads = {THREADS}")
    row, secs = _timed(lambda: conn.execute(
        "SELECT n_train, n_test, metrics FROM shopml.train_boosted(%s, %s::regclass, %s, %s::text[], %s::jsonb)",
        (ds.model, ds.view, ds.target, ds.features,
         shopml_options(ds.objective, params, ds.group_column if ds.group is not None else None))).fetchone(), reps)
    return (secs, *row)


def _score_fn(objective):
    """predict_proba for binary; predict (the expected value, or the ranking score) otherwise."""
    return "shopml.predict_proba" if objective == "binary" else "shopml.predict"


def score_shopml(conn, ds):
    """shopml's predictions for the test rows, in id order (the order of ds.test()), through
    SQL: (array with NaN for a NULL prediction, seconds of the query and its transfer)."""
    t = time.perf_counter()
    rows = conn.execute(f"SELECT id, {_score_fn(ds.objective)}(%s::text, t) FROM {ds.table} t WHERE is_test ORDER BY id",
                        (ds.model,)).fetchall()
    secs = time.perf_counter() - t
    ids = np.array([r[0] for r in rows], np.int64)
    expected = np.flatnonzero(ds.is_test) + 1
    assert np.array_equal(ids, expected), "the test rows in the table are not those of the split"
    return np.array([np.nan if r[1] is None else r[1] for r in rows], float), secs


def score_all_shopml(conn, ds):
    """Seconds to score every row of the table in SQL (a sum, nothing transferred)."""
    t = time.perf_counter()
    conn.execute(f"SELECT sum({_score_fn(ds.objective)}(%s::text, t)) FROM {ds.table} t", (ds.model,)).fetchone()
    return time.perf_counter() - t
