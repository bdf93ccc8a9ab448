"""Regression forests against scikit-learn's RandomForestRegressor (pinned in scripts/bootstrap)
with the same settings: 100 fully grown trees on bootstrap samples, every feature a candidate
at each split (scikit-learn's max_features=1.0, shopml's default for regression), 2 threads.
Both are random, so each is fitted with a few fixed seeds (deterministic: the test gives the
same figures every run) and the mean held-out rmse over the seeds is compared: shopml's must be
<= scikit-learn's x 1.01.

Data (benches/boosted_data.py, seeded): scikit-learn's diabetes (442 rows, 10 features; 88
held out) and the synthetic basket value (20k rows, 20 features). shopml trains through
train_forest on a view of the training rows (test_fraction 0, the task chosen from the float
target) and scores the held-out rows through SQL."""
import json
import os
import sys

import numpy as np
import pytest

pytest.importorskip("sklearn", reason="scikit-learn is not installed (scripts/bootstrap pins it)")

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "benches"))
import boosted_data as bd  # noqa: E402

from conftest import connect  # noqa: E402

SETS = {
    "diabetes": (bd.diabetes, [0, 1, 2]),
    "basket_20k": (lambda: bd.basket(20_000), [0, 1]),
}


@pytest.mark.parametrize("name", list(SETS))
def test_regression_forest_matches_scikit_learn(db, name):
    from sklearn.ensemble import RandomForestRegressor

    make, seeds = SETS[name]
    ds = make()
    xtr, ytr = ds.train()
    xte, yte = ds.test()
    ref = [bd.rmse(yte, RandomForestRegressor(n_estimators=100, n_jobs=2, random_state=s)
                   .fit(xtr, ytr).predict(xte)) for s in seeds]
    ours = []
    with connect(db) as c:
        bd.load(c, ds)
        c.execute("SET shopml.threads = 2")
        for s in seeds:
            row = c.execute(
                "SELECT n_train, metrics->>'task' FROM shopml.train_forest(%s, %s::regclass, %s, %s::text[], %s::jsonb)",
                (ds.model, ds.view, ds.target, ds.features, json.dumps({"test_fraction": 0, "seed": s}))).fetchone()
            assert row == (len(ytr), "regression")
            pred = np.array([r[0] for r in c.execute(
                f"SELECT shopml.predict(%s::text, t) FROM {ds.table} t WHERE is_test ORDER BY id",
                (ds.model,)).fetchall()], float)
            ours.append(bd.rmse(yte, pred))
    shop, sk = float(np.mean(ours)), float(np.mean(ref))
    print(f"{name}: shopml rmse {shop:.4f} (seeds {ours}), scikit-learn {sk:.4f} (seeds {ref})")
    assert shop <= sk * 1.01, f"{name}: shopml rmse {shop:.4f} > scikit-learn {sk:.4f} x 1.01"
