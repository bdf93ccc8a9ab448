#!/usr/bin/env python3
"""Checks shopml-core's sparse logistic regression against scikit-learn on the same data.

First export the data and our fit (200k rows, 3 categorical columns hashed into 2^18 buckets,
80/20 train/holdout split, l2 = 1):

    cd crates/core && CARGO_TARGET_DIR=../../target \
        cargo test --release sparse_export_for_sklearn -- --ignored

then run this script (numpy, scipy, scikit-learn; e.g. from the venv in .venv):

    .venv/bin/python benches/sparse_check.py [target/sparse_check]

It fits LogisticRegression(C=1/l2, solver='lbfgs') on the same CSR matrix and prints, for both
models, the objective Σ [softplus(t) − y·t] + ½·l2·‖coef‖² on the training rows (evaluated by
the same code here) and the holdout AUC.
"""

import json
import os
import sys
import time

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
folder = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "target", "sparse_check")

data = np.loadtxt(os.path.join(folder, "data.csv"), delimiter=",", skiprows=1)
with open(os.path.join(folder, "ours.json")) as f:
    ours = json.load(f)
l2, n_cols = ours["l2"], ours["n_cols"]

n = data.shape[0]
buckets = data[:, :3].astype(np.int64)
y, p_true, test = data[:, 3], data[:, 4], data[:, 5] > 0.5
# One entry of 1.0 per column and row; buckets shared within a row add up (as in the Rust CSR).
rows = np.repeat(np.arange(n), 3)
x = sp.csr_matrix((np.ones(3 * n), (rows, buckets.ravel())), shape=(n, n_cols))
x_train, y_train = x[~test], y[~test]
x_test, y_test = x[test], y[test]


def objective(intercept, coef):
    t = x_train @ coef + intercept
    return float(np.sum(np.logaddexp(0.0, t) - y_train * t) + 0.5 * l2 * coef @ coef)


def auc(intercept, coef):
    return roc_auc_score(y_test, x_test @ coef + intercept)


our_coef = np.zeros(n_cols)
for j, b in ours["coef"]:
    our_coef[j] = b

results = []
for label, tol in [("sklearn lbfgs (default tol)", 1e-4), ("sklearn lbfgs (tol=1e-10)", 1e-10)]:
    model = LogisticRegression(C=1.0 / l2, solver="lbfgs", max_iter=1000, tol=tol)
    start = time.perf_counter()
    model.fit(x_train, y_train)
    secs = time.perf_counter() - start
    b0, b = float(model.intercept_[0]), model.coef_[0]
    results.append((label, secs, int(model.n_iter_[0]), objective(b0, b), auc(b0, b)))

print(f"rows: {n - test.sum()} train, {test.sum()} holdout; {n_cols} columns, l2 = {l2}")
print(f"true-probability holdout AUC: {roc_auc_score(y_test, p_true[test]):.5f}")
print(f"{'model':32} {'seconds':>8} {'iters':>6} {'objective':>16} {'holdout AUC':>12}")
print(
    f"{'shopml sparse_logistic':32} {ours['fit_seconds']:8.3f} {ours['iterations']:6d} "
    f"{objective(ours['intercept'], our_coef):16.6f} {auc(ours['intercept'], our_coef):12.5f}"
)
print(f"{'  (its own objective)':32} {'':8} {'':6} {ours['objective']:16.6f}")
print(f"{'shopml, tol=1e-12 (objective)':32} {'':8} {ours['tight_iterations']:6d} "
      f"{ours['tight_objective']:16.6f}")
for label, secs, iters, obj, a in results:
    print(f"{label:32} {secs:8.3f} {iters:6d} {obj:16.6f} {a:12.5f}")
