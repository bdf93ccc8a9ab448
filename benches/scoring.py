"""Scoring whole tables against the tree libraries, in one run, as ratios.

    python3 benches/scoring.py [port] [--small]

Boosted trees: the 1M-row synthetic click-through table (benches/boosted_data.py ctr, 20
features, ~5 % NULL), a 100-tree x 31-leaf binary model trained by train_boosted; timed:
`shopml.predict_table(..., '{"output": "probability"}')` over the table, the row form
`sum(shopml.predict_proba('m', t))`, and LightGBM 4.7.0's `predict` of the same rows already in
memory (the same 100 trees, fitted on the same rows, 2 threads). Random forest: 100 fully
grown trees (train_forest defaults) on a 100k-row ctr table, NULLs imputed with the mean for
both; against scikit-learn's RandomForestClassifier(n_estimators=100, n_jobs=2).predict_proba.
Each time is the best of three; a plain count(*) scan of the table is printed as the floor.
With --small: 200k and 20k rows."""
import sys
import time

import numpy as np
import psycopg

import boosted_data as bd

PORT = int(next((a for a in sys.argv[1:] if not a.startswith("-")), 5499))
SMALL = "--small" in sys.argv
DB = "shopml_bench"


def best(f, reps=3):
    out = 1e9
    for _ in range(reps):
        t = time.perf_counter()
        f()
        out = min(out, time.perf_counter() - t)
    return out


def main():
    with psycopg.connect(host="localhost", port=PORT, user="postgres", dbname="postgres", autocommit=True) as c:
        if not c.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB,)).fetchone():
            c.execute(f"CREATE DATABASE {DB}")
    c = psycopg.connect(host="localhost", port=PORT, user="postgres", dbname=DB, autocommit=True)
    c.execute("SET client_min_messages = warning")
    c.execute("CREATE EXTENSION IF NOT EXISTS shopml")
    c.execute(f"SET shopml.threads = {bd.THREADS}")
    q = lambda sql, *a: (lambda: c.execute(sql, a).fetchall())

    n = 200_000 if SMALL else 1_000_000
    ds = bd.ctr(n)
    bd.load(c, ds)
    bd.train_shopml(c, ds)
    ref = bd.run_lightgbm(ds, reps=3)
    scan = best(q(f"SELECT count(*) FROM {ds.table}"))
    table = best(q(f"SELECT count(*), sum(prediction) FROM shopml.predict_table(%s, %s::regclass, 'id', "
                   "'{\"output\": \"probability\"}')", ds.model, ds.table))
    row = best(q(f"SELECT sum(shopml.predict_proba(%s::text, t)) FROM {ds.table} t", ds.model))
    lgb = ref["predict_all_s"]
    print(f"boosted 100 trees x 31 leaves, {n} rows x 20: scan {scan:.3f} s, predict_table {table:.3f} s, "
          f"row form {row:.3f} s, LightGBM predict {lgb:.3f} s")
    print(f"  predict_table / LightGBM = {table / lgb:.2f} (target <= 1, aim 0.5); "
          f"row form / LightGBM = {row / lgb:.2f} (target <= 2, aim 1); "
          f"predict_table {table * 1e9 / (n * 100):.1f} ns per tree per row of wall time")

    n = 20_000 if SMALL else 100_000
    ds = bd.ctr(n, seed=3)
    ds.name = f"forest_{n}"
    bd.load(c, ds)
    c.execute("SELECT * FROM shopml.train_forest('bench_forest', %s::regclass, %s, %s::text[], "
              "'{\"n_trees\": 100, \"test_fraction\": 0, \"impute\": \"mean\"}')", (ds.table, ds.target, ds.features))
    scan = best(q(f"SELECT count(*) FROM {ds.table}"))
    table = best(q("SELECT count(*), sum(prediction) FROM shopml.predict_table('bench_forest', %s::regclass, 'id', "
                   "'{\"output\": \"probability\"}')", ds.table))
    row = best(q(f"SELECT sum(shopml.predict_proba('bench_forest', t)) FROM {ds.table} t"))
    nodes = c.execute("SELECT (metrics->>'nodes')::bigint FROM shopml.models WHERE model_name = 'bench_forest' AND deployed").fetchone()[0]
    from sklearn.ensemble import RandomForestClassifier
    x = ds.X.copy()
    means = np.nanmean(x, axis=0)
    miss = np.where(np.isnan(x))
    x[miss] = np.take(means, miss[1])
    rf = RandomForestClassifier(n_estimators=100, n_jobs=bd.THREADS, random_state=0).fit(x, ds.y.astype(int))
    sk = best(lambda: rf.predict_proba(x))
    sk_nodes = sum(e.tree_.node_count for e in rf.estimators_)
    print(f"forest 100 fully grown trees, {n} rows x 20: scan {scan:.3f} s, predict_table {table:.3f} s, "
          f"row form {row:.3f} s, scikit-learn predict_proba {sk:.3f} s")
    print(f"  predict_table / scikit-learn = {table / sk:.2f} (target <= 1); row form / scikit-learn = {row / sk:.2f} "
          f"(target <= 2); nodes: shopml {nodes}, scikit-learn {sk_nodes}; "
          f"{table * 1e9 / (n * 100):.0f} ns per tree per row of wall time")


if __name__ == "__main__":
    main()
