#!/usr/bin/env python3
"""Gradient-boosted trees against LightGBM, side by side on the same rows.

  python3 benches/boosted.py [PORT] [--small] [--lightgbm-only] [--only NAME ...] [--reps N]

PORT (default 5499): the cluster; the database shopml_bench is created if missing, with
CREATE EXTENSION IF NOT EXISTS shopml. --small leaves out the 1M-row click-through set;
--lightgbm-only runs LightGBM alone (no database); --only runs the named data sets
(ctr_100k ctr_1m basket_100k units_100k rank_2k rank_10k breast_cancer diabetes); --reps N
times the fastest of N runs of each LightGBM fit and predict and of each train_boosted call
(default 1).

Data (benches/boosted_data.py, seeded, so runs repeat): synthetic click-through (binary,
20 features with nonlinear interactions, ~5 % NULL in four of them) at 100k and 1M rows,
basket value (regression, 20 features, 100k), units sold against price (poisson, 8 features,
100k), search sessions (lambdarank: 2,000 and 10,000 queries of 10..40 shown products, ~50k
and ~250k rows, 12 features, relevance 0/1/2 for not clicked/clicked/bought, ~3 % NULL in two
features), and the two real data sets inside the scikit-learn wheel: breast_cancer (binary)
and diabetes (regression). Each is split once, ~20 % of its rows marked is_test (for ranking
~20 % of the queries, whole), and loaded by binary COPY into bst_<name>; shopml trains on the
view bst_<name>_train (the training rows without id and is_test; with query_id, the
group_column, for ranking) with test_fraction 0, LightGBM on the same rows in memory
(LGBMRanker fit with group= the training queries' sizes for ranking), both with 100 trees,
learning rate 0.1, 31 leaves, 20 rows a leaf at least, 255 bins, no L2, 2 threads.

Printed: held-out AUC and log loss (binary), rmse (regression), mean Poisson deviance (and
rmse, not checked) for poisson, mean ndcg@10 (and map@10, not checked) over the held-out
queries for lambdarank, against the tolerances AUC >= LightGBM - 0.002, log loss, rmse and
deviance <= LightGBM x 1.01, ndcg@10 >= LightGBM - 0.005 (a miss is marked MISSED; the exit
status stays 0); then
times: LightGBM's fit (Dataset binning included) and predict on the test rows and on all rows
(numpy arrays in memory, 2 threads), shopml's whole train_boosted call, its SQL scoring of the
test rows (fetched) and of all rows (summed), and the train ratio shopml / LightGBM.
"""
import argparse
import os
import sys
import time

import numpy as np
import psycopg

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import boosted_data as bd  # noqa: E402

DB = "shopml_bench"
SETS = {
    "ctr_100k": lambda: bd.ctr(100_000),
    "ctr_1m": lambda: bd.ctr(1_000_000),
    "basket_100k": lambda: bd.basket(100_000),
    "units_100k": lambda: bd.units(100_000),
    "rank_2k": lambda: bd.search_sessions(2_000),
    "rank_10k": lambda: bd.search_sessions(10_000),
    "breast_cancer": bd.breast_cancer,
    "diabetes": bd.diabetes,
}


def connect(port, dbname):
    return psycopg.connect(host="localhost", port=port, user="postgres", dbname=dbname, autocommit=True)


def open_bench_db(port):
    with connect(port, "postgres") as c:
        if not c.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB,)).fetchone():
            c.execute(f"CREATE DATABASE {DB}")
    conn = connect(port, DB)
    conn.execute("SET client_min_messages = warning")
    conn.execute("CREATE EXTENSION IF NOT EXISTS shopml")
    return conn


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def run_shopml(conn, ds, res, reps=1):
    """Trains and scores shopml on ds; fills res (metrics, times, notes)."""
    res["load_s"] = bd.load(conn, ds)
    if not res["boosted"]:
        return
    try:
        res["train_s"], n_train, n_test, _ = bd.train_shopml(conn, ds, reps=reps)
        expected = int((~ds.is_test).sum())
        if n_train != expected or n_test != 0:
            res["notes"].append(f"n_train {n_train} (expected {expected}), n_test {n_test} (expected 0)")
            res["failed"] = True
        pred, res["score_test_s"] = bd.score_shopml(conn, ds)
        res["score_all_s"] = bd.score_all_shopml(conn, ds)
    except psycopg.Error as e:
        res["notes"].append(f"ERROR {e.sqlstate}: {str(e).splitlines()[0]}")
        res["failed"] = True
        return
    nulls = np.isnan(pred)
    if nulls.any():
        res["notes"].append(f"{int(nulls.sum())} NULL predictions (metrics on the other rows)")
        res["failed"] = True
    y, group = ds.test()[1], ds.test_group
    res["shop"] = bd.metrics(ds.objective, y[~nulls], pred[~nulls], None if group is None else group[~nulls])


def fmt(v, digits=5):
    return "-" if v is None else f"{v:.{digits}f}"


def ratio(a, b):
    return "-" if a is None or b is None or b == 0 else f"{a / b:.2f}x"


def report(results, lightgbm_only):
    print()
    print(f"{'data set':<14} {'train/test':>15}  {'metric':<16} {'LightGBM':>10} {'shopml':>10} "
          f"{'delta':>9} {'limit':>13}  status")
    missed = 0
    for r in results:
        ds = r["ds"]
        rows = f"{int((~ds.is_test).sum())}/{int(ds.is_test.sum())}"
        shop = r.get("shop")
        if shop is not None:
            lines = bd.checks(ds.objective, shop, r["lgb"]["metrics"])
        else:
            lines = [(k, None, v, None, "", None) for k, v in r["lgb"]["metrics"].items()]
        for i, (metric, s, ref, limit, sense, ok) in enumerate(lines):
            if s is None:
                delta = "-"
            elif metric == "auc" or "@" in metric:  # auc, ndcg@k, map@k: absolute differences
                delta = f"{s - ref:+.5f}"
            else:
                delta = f"{100 * (s / ref - 1):+.2f}%"
            lim = f"{sense} {limit:.5f}" if limit is not None else ""
            if s is None:
                status = ("lightgbm only" if lightgbm_only else "not trained (no train_boosted)"
                          if not r["boosted"] else "MISSED (no result)")
                missed += status.startswith("MISSED")
            elif limit is None:
                status = "(shown)"
            else:
                status = "ok" if ok and not r["failed"] else "MISSED"
                missed += status == "MISSED"
            print(f"{ds.name if i == 0 else '':<14} {rows if i == 0 else '':>15}  {metric:<16} {fmt(ref):>10} "
                  f"{fmt(s):>10} {delta:>9} {lim:>13}  {status}")
        for note in r["notes"]:
            print(f"{'':<14} {'':>15}  note: {note}")
    print()
    print(f"{'seconds':<14} {'LGB fit':>8} {'shopml train':>13} {'ratio':>7} {'LGB pred test':>14} "
          f"{'LGB pred all':>13} {'SQL score test':>15} {'SQL score all':>14} {'COPY load':>10}")
    for r in results:
        g = r["lgb"]
        print(f"{r['ds'].name:<14} {fmt(g['fit_s'], 3):>8} {fmt(r.get('train_s'), 3):>13} "
              f"{ratio(r.get('train_s'), g['fit_s']):>7} {fmt(g['predict_test_s'], 3):>14} "
              f"{fmt(g['predict_all_s'], 3):>13} {fmt(r.get('score_test_s'), 3):>15} "
              f"{fmt(r.get('score_all_s'), 3):>14} {fmt(r.get('load_s'), 2):>10}")
    print()
    if not lightgbm_only and results and results[0]["boosted"]:
        print(f"{missed} tolerance(s) MISSED" if missed else "all tolerances met")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("port", nargs="?", type=int, default=5499)
    ap.add_argument("--small", action="store_true", help="leave out the 1M-row click-through data set")
    ap.add_argument("--large", action="store_true", help="include the 1M-row set (the default; overrides --small)")
    ap.add_argument("--lightgbm-only", action="store_true", help="LightGBM alone, no database")
    ap.add_argument("--only", nargs="+", choices=list(SETS), metavar="NAME")
    ap.add_argument("--reps", type=int, default=1, help="time the fastest of REPS fits/trainings (default 1)")
    args = ap.parse_args()
    names = args.only or [n for n in SETS if not (n == "ctr_1m" and args.small and not args.large)]

    import lightgbm
    import sklearn
    if lightgbm.__version__ != bd.LIGHTGBM_VERSION:
        log(f"warning: lightgbm {lightgbm.__version__}, the reference is pinned at {bd.LIGHTGBM_VERSION}")
    conn = None
    boosted = False
    header = (f"lightgbm {lightgbm.__version__}, scikit-learn {sklearn.__version__}, numpy {np.__version__}, "
              f"{bd.THREADS} threads; params {bd.PARAMS}")
    if not args.lightgbm_only:
        conn = open_bench_db(args.port)
        version = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'shopml'").fetchone()[0]
        boosted = bd.has_train_boosted(conn)
        header += f"; shopml {version} on port {args.port}"
        if not boosted:
            header += f" (no {bd.TRAIN_BOOSTED}: tables loaded, shopml not trained)"
    print(header)

    results = []
    for name in names:
        t = time.perf_counter()
        ds = SETS[name]()
        queries = "" if ds.group is None else f" ({len(bd.run_lengths(ds.group))} queries)"
        log(f"{name}: {ds.n} rows{queries} x {len(ds.features)} generated/read in {time.perf_counter() - t:.2f} s; LightGBM")
        res = {"ds": ds, "lgb": bd.run_lightgbm(ds, reps=args.reps), "notes": [], "failed": False, "boosted": boosted}
        if conn is not None:
            log(f"{name}: COPY" + (", train_boosted, scoring" if boosted else ""))
            run_shopml(conn, ds, res, args.reps)
        results.append(res)
    report(results, args.lightgbm_only)
    if conn is not None:
        conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
