"""Sharded training benchmark (issue 17): train_linear over 2 x 2M rows on two postgres_fdw
shards against the same 4M rows in one table of one server, 20 features, in one run.

Starts a coordinator (port 5593) and two shards (5594, 5595) like
tests/client/test_shards.py, prints times, their ratio, the bytes each shard sends back, and
checks that both models are the same; removes the clusters. Usage: python3 benches/shards.py [rows]
"""
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "client"))
from clusters import Cluster  # noqa: E402

DB = "shard"
P = 20
N = int(sys.argv[1]) if len(sys.argv) > 1 else 4_000_000
XS = ", ".join(f"(abs(hashint8(id * 32 + {j})) % 1000003) / 1000003.0::float8 AS x{j}" for j in range(1, P + 1))
Y = " + ".join(f"{j % 7 - 3} * (abs(hashint8(id * 32 + {j})) % 1000003) / 1000003.0" for j in range(1, P + 1))
COLUMNS = "id bigint, region int, " + ", ".join(f"x{j} float8" for j in range(1, P + 1)) + ", y float8, clicked bool"
ROWS = (f"SELECT id, 1 + (id % 2)::int AS region, {XS}, {Y} + (abs(hashint8(id * 32)) % 1000) / 1000.0 AS y, "
        f"(abs(hashint8(id * 32 + 31)) % 1000003) / 1000003.0 < 1 / (1 + exp(-({Y}) / 3)) AS clicked "
        f"FROM generate_series(1, {N}) id")
FEATURES = "ARRAY[" + ", ".join(f"'x{j}'" for j in range(1, P + 1)) + "]"
OPTIONS = '{"split_column": "id"}'


def train(conn, model, relation, trainer="train_linear", target="y"):
    t = time.perf_counter()
    conn.execute(f"SELECT * FROM shopml.{trainer}('{model}', '{relation}', '{target}', {FEATURES}, '{OPTIONS}')")
    return time.perf_counter() - t


def main():
    coord, shards = Cluster("coord", 5593), [Cluster("shard1", 5594), Cluster("shard2", 5595)]
    try:
        for c in [coord, *shards]:
            c.init()
            with c.connect() as conn:
                conn.execute(f"CREATE DATABASE {DB}")
            with c.connect(DB) as conn:
                conn.execute("CREATE EXTENSION shopml")
        for k, s in enumerate(shards, start=1):
            with s.connect(DB) as conn:
                conn.execute(f"CREATE TABLE sales ({COLUMNS})")
                conn.execute(f"INSERT INTO sales SELECT * FROM ({ROWS}) r WHERE region = {k}")
                conn.execute("VACUUM ANALYZE sales")
        with coord.connect(DB) as conn:
            conn.execute("CREATE EXTENSION postgres_fdw")
            conn.execute(f"CREATE TABLE sales_all ({COLUMNS})")
            conn.execute(f"INSERT INTO sales_all {ROWS}")
            conn.execute("VACUUM ANALYZE sales_all")
            conn.execute(f"CREATE TABLE sales ({COLUMNS}) PARTITION BY LIST (region)")
            for k, s in enumerate(shards, start=1):
                conn.execute(f"""CREATE SERVER s{k} FOREIGN DATA WRAPPER postgres_fdw
                                 OPTIONS (host 'localhost', port '{s.port}', dbname '{DB}', extensions 'shopml', async_capable 'true')""")
                conn.execute(f"CREATE USER MAPPING FOR postgres SERVER s{k} OPTIONS (user 'postgres')")
                conn.execute(f"""CREATE FOREIGN TABLE sales_{k} PARTITION OF sales FOR VALUES IN ({k})
                                 SERVER s{k} OPTIONS (table_name 'sales')""")
            conn.execute("SELECT count(*) FROM sales_all")  # warm the caches
            t0 = time.perf_counter()
            conn.execute("SELECT sum(y) FROM sales_all").fetchone()
            scan = time.perf_counter() - t0
            one, many = [], []
            for _ in range(3):
                one.append(train(conn, "one", "sales_all"))
                many.append(train(conn, "many", "sales"))
            a = dict(conn.execute("SELECT feature, coefficient FROM shopml.coefficients('one')").fetchall())
            b = dict(conn.execute("SELECT feature, coefficient FROM shopml.coefficients('many')").fetchall())
            worst = max(abs(a[f] - b[f]) / max(abs(a[f]), 1e-300) for f in a)
            cfg = f"shopml._linear_scan_config({P}, 0.2, false)"
            args = ", ".join(f"x{j}" for j in range(1, P + 1))
            size = conn.execute(f"SELECT octet_length(shopml._linear_stats({cfg}, id, y, {args})) FROM sales_1").fetchone()[0]
            m1, m2 = statistics.median(one), statistics.median(many)
            print(f"shards bench: {N} rows x {P} features; medians of 3")
            print(f"  one server, one table ({N} rows)        {m1 * 1e3:8.1f} ms   (a scan: {scan * 1e3:.1f} ms)")
            print(f"  two shards x {N // 2} rows (postgres_fdw)   {m2 * 1e3:8.1f} ms   ratio {m2 / m1:.3f} (target <= 1.2)")
            print(f"  bytes back per shard: {size} (statistics of {P} features; independent of its rows)")
            print(f"  largest relative coefficient difference: {worst:.2e} (target <= 1e-9)")
            lone, lmany = [], []
            for _ in range(3):
                lone.append(train(conn, "lone", "sales_all", "train_logistic", "clicked"))
                lmany.append(train(conn, "lmany", "sales", "train_logistic", "clicked"))
            sh = conn.execute("SELECT metrics->'sharded' FROM shopml.train_logistic('lmany', 'sales', 'clicked', "
                              f"{FEATURES}, '{OPTIONS}')").fetchone()[0]
            diff = conn.execute("SELECT max(abs(ln(a / (1 - a)) - ln(b / (1 - b)))) FROM (SELECT "
                                "shopml.predict_proba('lone', r) a, shopml.predict_proba('lmany', r) b "
                                "FROM sales_all r LIMIT 100000) s").fetchone()[0]
            l1, l2 = statistics.median(lone), statistics.median(lmany)
            print(f"  train_logistic, one table                  {l1 * 1e3:8.1f} ms")
            print(f"  train_logistic, two shards                 {l2 * 1e3:8.1f} ms   ratio {l2 / l1:.3f} (target <= 1.2); "
                  f"{sh['passes']} passes over the shards (moments + Newton steps), "
                  f"largest state back {sh['largest_state_bytes']} bytes")
            print(f"  train_logistic, largest logit difference over 100k rows: {diff:.2e} (target: coefficients to 1e-6)")
            print(f"  train_logistic, sharded: full passes {sh['pass_ms']} ms, warm start {sh['warm_start_passes']} passes "
                  f"over the first blocks {sh['warm_start_ms']} ms")
    finally:
        for c in [coord, *shards]:
            c.remove()


if __name__ == "__main__":
    main()
