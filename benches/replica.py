"""Replica benchmark (issue 17): a standby's predict cost against the primary's on the same
rows, and the time from a deployment on the primary to the standby serving it.

Starts its own primary (port 5591) and standby (5592) like tests/client/test_replica.py, prints
ratios measured in this run, and removes both clusters. Usage: python3 benches/replica.py
"""
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "client"))
from clusters import Cluster, shop_with_models  # noqa: E402

DB = "shop_replica"
QUERIES = {
    "baseline: the same 400k rows read, no model":
        "SELECT sum(a.affinity + a.position + a.quality) FROM shop.ad_training a, generate_series(1, 4)",
    "predict_proba (logistic) on those 400k rows":
        "SELECT sum(shopml.predict_proba('ctr', a)) FROM shop.ad_training a, generate_series(1, 4)",
    "predict_proba (logistic), 400k rows of constants, no table":
        "SELECT sum(shopml.predict_proba('ctr', ARRAY[0.5, 2.0, 1.0, 0.7])) FROM generate_series(1, 400000)",
    "recommend_for_user, 300 users":
        "SELECT count(*) FROM generate_series(1, 300) u, LATERAL shopml.recommend_for_user('recs', u, 10)",
    "optimal_price, every product":
        "SELECT count(*) FROM shop.products p, LATERAL shopml.optimal_price('prices', p.product_id, p.unit_cost::float8)",
}


def timed(conn, q):
    t = time.perf_counter()
    conn.execute(q).fetchall()
    return time.perf_counter() - t


def main():
    primary, standby = Cluster("primary", 5591), Cluster("standby", 5592)
    try:
        primary.init()
        shop_with_models(primary, DB)
        standby.standby_of(primary)
        with primary.connect(DB) as p, standby.connect(DB) as s:
            n = p.execute("SELECT count(*) FROM shop.ad_training").fetchone()[0]
            print(f"replica bench: {n} ad impressions x 4 per predict query; medians of 7 alternating runs")
            for name, q in QUERIES.items():
                timed(p, q), timed(s, q)  # warm the caches of both
                tp, ts = [], []
                for _ in range(7):
                    tp.append(timed(p, q))
                    ts.append(timed(s, q))
                mp, ms = statistics.median(tp), statistics.median(ts)
                print(f"  {name}: primary {mp * 1e3:.1f} ms, standby {ms * 1e3:.1f} ms, standby/primary {ms / mp:.3f}")
            p.execute("UPDATE lin SET y = 3 * x")
            p.execute("SELECT * FROM shopml.train_linear('lin', 'lin', 'y', ARRAY['x'], '{\"test_fraction\": 0}')")
            lags = []
            for i in range(20):
                p.execute("SELECT shopml.deploy('lin', %s)", (1 + i % 2,))
                committed = time.perf_counter()
                want = p.execute("SELECT shopml.predict('lin', ARRAY[1.0])").fetchone()[0]
                while s.execute("SELECT shopml.predict('lin', ARRAY[1.0])").fetchone()[0] != want:
                    pass
                lags.append(time.perf_counter() - committed)
            print(f"  deployment on the primary -> served by the standby: median {statistics.median(lags) * 1e3:.1f} ms, "
                  f"max {max(lags) * 1e3:.1f} ms over 20 deployments")
    finally:
        standby.remove()
        primary.remove()


if __name__ == "__main__":
    main()
