"""shopml.tune against scikit-learn's GridSearchCV (pinned in scripts/bootstrap) on the same
folds and the same candidates: the configuration chosen must be the same, and so must every
fold's score.

The folds are shopml's own (shopml.folds gives each row's fold, hashed from its position or
from a group column), handed to scikit-learn as a PredefinedSplit, so both searches train on
the same rows and score the same held-out rows.
- ridge: shopml's train_linear with l2 minimises Σ(y − xβ)² + l2·‖β‖² (intercept free) on the
  raw features = scikit-learn's Ridge(alpha = l2); scored by r2. This search takes tune's
  one-scan path (every fold's sufficient statistics from one read of the table).
- logistic: train_logistic standardises with the training rows' population moments and
  minimises Σ logloss + ½·l2·‖β‖² = StandardScaler + LogisticRegression(C = 1/l2); folds
  grouped by customer (a customer's rows never on both sides); scored by ROC AUC."""
import json

import numpy as np
import pytest

pytest.importorskip("sklearn", reason="scikit-learn is not installed (scripts/bootstrap pins it)")

from conftest import connect  # noqa: E402


def load(c, table, x, y, groups=None):
    p = x.shape[1]
    cols = [f"f{j}" for j in range(p)]
    c.execute(f"DROP TABLE IF EXISTS {table}")
    ytype = "boolean" if y.dtype == bool else "float8"
    c.execute(f"CREATE TABLE {table} (id int, g int, {', '.join(f'{f} float8' for f in cols)}, y {ytype})")
    with c.cursor().copy(f"COPY {table} FROM STDIN") as cp:
        for i in range(len(y)):
            g = int(groups[i]) if groups is not None else i
            yv = bool(y[i]) if y.dtype == bool else float(y[i])
            cp.write_row([i, g, *map(float, x[i]), yv])
    return cols


def shopml_folds(c, table, k, group=None):
    rows = c.execute(
        f"SELECT t.id, f.fold FROM shopml.folds(%s::regclass, %s, group_column => %s) f "
        f"JOIN {table} t ON t.ctid = f.row_ctid::tid ORDER BY t.id", (table, k, group)).fetchall()
    return np.array([r[1] for r in rows])


def tune(c, model, trainer, table, cols, grid, options):
    c.execute("SELECT * FROM shopml.tune(%s, %s, %s::regclass, %s::jsonb, %s::jsonb, %s::jsonb)",
              (model, trainer, table, json.dumps({"target": "y", "features": cols}),
               json.dumps(grid), json.dumps(options)))
    return c.execute("SELECT trial, options, mean, std, per_fold, chosen FROM shopml.trials(%s) ORDER BY trial",
                     (model,)).fetchall()


def compare(trials, search, key, values):
    ours_chosen = [t[1][key] for t in trials if t[5]]
    ref_chosen = search.best_params_[[k for k in search.best_params_][0]]
    per_ref = np.array([search.cv_results_[f"split{i}_test_score"] for i in range(search.n_splits_)]).T
    per_ours = np.array([t[4] for t in trials])
    assert [t[1][key] for t in trials] == values  # the grid's order
    diff = float(np.abs(per_ours - per_ref).max())
    for t, m, s in zip(trials, search.cv_results_["mean_test_score"], search.cv_results_["std_test_score"]):
        print(f"  {key}={t[1][key]:<10g} shopml mean {t[2]:.9f} std {t[3]:.6f}   "
              f"scikit-learn {m:.9f} {s:.6f}{'   <- chosen' if t[5] else ''}")
    print(f"  chosen: shopml {ours_chosen}, scikit-learn {ref_chosen}; max |fold score diff| {diff:.2e}")
    return ours_chosen, ref_chosen, diff, per_ours, per_ref


def test_ridge_search_chooses_what_grid_search_cv_chooses(db):
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import GridSearchCV, PredefinedSplit

    rng = np.random.default_rng(7)
    n, p = 400, 40  # few rows for many features: the penalty matters
    x = rng.normal(size=(n, p)) * rng.uniform(0.5, 3.0, size=p)
    beta = rng.normal(size=p) * (rng.uniform(size=p) < 0.3)
    y = 5.0 + x @ beta + rng.normal(scale=4.0, size=n)
    l2s = [0.01, 0.1, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0, 10000.0]
    with connect(db) as c:
        cols = load(c, "tr_ridge", x, y)
        fold = shopml_folds(c, "tr_ridge", 5)
        trials = tune(c, "tr_ridge", "linear", "tr_ridge", cols, {"l2": l2s}, {"folds": 5})
        tuning = c.execute("SELECT metrics->'tuning' FROM shopml.models WHERE model_name = 'tr_ridge' "
                           "AND deployed").fetchone()[0]
        coef = c.execute("SELECT feature, coefficient FROM shopml.coefficients('tr_ridge') "
                         "WHERE feature <> '(intercept)'").fetchall()
    assert tuning["one_scan"] is True
    search = GridSearchCV(Ridge(), {"alpha": l2s}, cv=PredefinedSplit(fold), scoring="r2").fit(x, y)
    print("ridge, 400 rows × 40 features, 10 penalties × 5 folds:")
    ours, ref, diff, _, _ = compare(trials, search, "l2", l2s)
    assert ours == [ref]
    assert diff <= 1e-9
    # The refit on every row is scikit-learn's best_estimator_.
    ours_coef = np.array([v for _, v in sorted(coef, key=lambda r: int(r[0][1:]))])
    assert np.abs(ours_coef - search.best_estimator_.coef_).max() <= 1e-9


def test_logistic_grouped_search_chooses_what_grid_search_cv_chooses(db):
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, PredefinedSplit
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(11)
    n_customers, p = 150, 25
    groups = rng.integers(0, n_customers, size=900)
    taste = rng.normal(size=(n_customers, p)) * 0.7  # a customer's rows look alike
    x = taste[groups] + rng.normal(size=(len(groups), p)) * rng.uniform(0.5, 2.0, size=p)
    beta = rng.normal(size=p) * (rng.uniform(size=p) < 0.25) * 0.6
    y = rng.uniform(size=len(groups)) < 1.0 / (1.0 + np.exp(-(x @ beta - 0.3)))
    l2s = [0.01, 0.1, 1.0, 10.0, 30.0, 100.0, 300.0, 1000.0]
    with connect(db) as c:
        cols = load(c, "tr_logit", x, y, groups)
        fold = shopml_folds(c, "tr_logit", 5, "g")
        trials = tune(c, "tr_logit", "logistic", "tr_logit", cols, {"l2": l2s},
                      {"folds": 5, "group_column": "g"})
    # A customer sits in one fold only.
    for g in np.unique(groups):
        assert len(set(fold[groups == g])) == 1
    model = make_pipeline(StandardScaler(), LogisticRegression(tol=1e-12, max_iter=100_000))
    search = GridSearchCV(model, {"logisticregression__C": [1.0 / v for v in l2s]},
                          cv=PredefinedSplit(fold), scoring="roc_auc").fit(x, y)
    print("logistic, 900 rows of 150 customers × 25 features, 8 penalties × 5 grouped folds:")
    ours, ref, diff, _, _ = compare(trials, search, "l2", l2s)
    assert ours == [pytest.approx(1.0 / ref, rel=1e-12)]
    assert diff <= 1e-6
