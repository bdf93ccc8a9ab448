"""A table sharded with PostgreSQL's own tools: a coordinator (port 5593) whose partitioned
table has postgres_fdw foreign tables on two shard clusters (5594, 5595) as partitions, each
with shopml installed. train_linear sends its aggregate to each shard and combines the partial
states: the model equals the one trained on the same rows in one table, and what comes back
per shard does not grow with its rows. A shard without shopml, with other column types,
unreachable, or answering with a newer partial format fails the training naming the shard,
with nothing written. All three clusters are started here and removed at the end."""
import psycopg
import pytest

from clusters import Cluster

DB = "shard"
FEATURES = ["x1", "x2", "x3", "x4", "x5"]
# Rows from a hash of the id: the same values on whichever server generates them.
ROWS = """SELECT id, 1 + (id % 2)::int AS region, {xs}, 'c' || (id % 4) AS cat,
                 1.5 + {signal} + 0.3 * (id % 4) + ((hashint8(id * 10 + 9) % 1000) / 1000.0 - 0.5) AS y,
                 (abs(hashint8(id * 10 + 8)) % 100000) / 100000.0
                   < 1 / (1 + exp(-3 * ({signal} - 7.5) / 5 - 0.2 * (id % 4))) AS clicked
          FROM generate_series(1, {n}) id"""
XS = ", ".join(f"(abs(hashint8(id * 10 + {j})) % 100000) / 100000.0::float8 AS x{j}" for j in range(1, 6))
SIGNAL = " + ".join(f"{j} * (abs(hashint8(id * 10 + {j})) % 100000) / 100000.0" for j in range(1, 6))
COLUMNS = "id bigint, region int, " + ", ".join(f"x{j} float8" for j in range(1, 6)) + ", cat text, y float8, clicked bool"


def rows(n, where=""):
    return f"SELECT * FROM ({ROWS.format(xs=XS, signal=SIGNAL, n=n)}) r {where}"


@pytest.fixture(scope="module")
def sharded():
    coord, shards = Cluster("coord", 5593), [Cluster("shard1", 5594), Cluster("shard2", 5595)]
    try:
        for c in [coord, *shards]:
            c.init()
            with c.connect() as conn:
                conn.execute(f"CREATE DATABASE {DB}")
            with c.connect(DB) as conn:
                conn.execute("CREATE EXTENSION shopml")
        n = 20_000
        for k, s in enumerate(shards, start=1):
            with s.connect(DB) as conn:
                conn.execute(f"CREATE TABLE sales ({COLUMNS})")
                conn.execute(f"INSERT INTO sales {rows(n, f'WHERE region = {k}')}")
        with coord.connect(DB) as conn:
            conn.execute("CREATE EXTENSION postgres_fdw")
            conn.execute(f"CREATE TABLE sales_all ({COLUMNS})")
            conn.execute(f"INSERT INTO sales_all {rows(n)}")
            conn.execute(f"CREATE TABLE sales ({COLUMNS}) PARTITION BY LIST (region)")
            for k, s in enumerate(shards, start=1):
                conn.execute(f"""CREATE SERVER s{k} FOREIGN DATA WRAPPER postgres_fdw
                                 OPTIONS (host 'localhost', port '{s.port}', dbname '{DB}', extensions 'shopml', async_capable 'true')""")
                conn.execute(f"CREATE USER MAPPING FOR postgres SERVER s{k} OPTIONS (user 'postgres')")
                conn.execute(f"""CREATE FOREIGN TABLE sales_{k} PARTITION OF sales FOR VALUES IN ({k})
                                 SERVER s{k} OPTIONS (table_name 'sales')""")
        yield coord, shards
    finally:
        for c in [coord, *shards]:
            c.remove()


def coefficients(conn, model):
    return {r[0]: r[1] for r in conn.execute(
        "SELECT feature, coefficient FROM shopml.coefficients(%s)", (model,)).fetchall()}


def models(conn):
    return conn.execute("SELECT count(*) FROM shopml.model").fetchone()[0]


def train(conn, model, relation, options='{"split_column": "id"}', features=FEATURES):
    return conn.execute("SELECT n_train, n_test, metrics FROM shopml.train_linear(%s, %s, 'y', %s, %s)",
                        (model, relation, features, options)).fetchone()


@pytest.mark.parametrize("features, options", [
    (FEATURES, '{"split_column": "id"}'),
    (FEATURES, '{"test_fraction": 0}'),
    # Learnt preparation (centring, scaling, a one-hot text column) combined across the shards.
    (FEATURES + ["cat"], '{"split_column": "id", "standardize": true}'),
])
def test_sharded_model_equals_one_server(sharded, features, options):
    coord, _ = sharded
    with coord.connect(DB) as c:
        one = train(c, "one", "sales_all", options, features)
        many = train(c, "many", "sales", options, features)
        assert many[:2] == one[:2]
        assert many[0] > 10_000
        a, b = coefficients(c, "one"), coefficients(c, "many")
        assert a.keys() == b.keys() and len(a) >= len(features) + 1
        for f in a:
            assert b[f] == pytest.approx(a[f], rel=1e-9, abs=1e-12), f
        for m in ("r2", "rmse"):
            assert many[2][m] == pytest.approx(one[2][m], rel=1e-9), m
        # The MAE needs rows, not statistics: a sharded training leaves it to shopml.evaluate.
        assert one[2]["mae"] > 0 and many[2]["mae"] is None
        # Real coefficients, not a degenerate fit: x_j's is about j (on any common scale).
        assert b["x3"] / b["x1"] == pytest.approx(3, rel=0.05)


@pytest.mark.parametrize("features, options", [
    (FEATURES, '{"split_column": "id"}'),
    (FEATURES, '{"test_fraction": 0, "class_weight": "balanced", "l2": 5}'),
    (FEATURES + ["cat"], '{"split_column": "id", "standardize": true}'),
])
def test_sharded_logistic_equals_one_server(sharded, features, options):
    coord, _ = sharded
    q = "SELECT n_train, n_test, metrics FROM shopml.train_logistic(%s, %s, 'clicked', %s, %s)"
    with coord.connect(DB) as c:
        one = c.execute(q, ("lone", "sales_all", features, options)).fetchone()
        many = c.execute(q, ("lmany", "sales", features, options)).fetchone()
        assert many[:2] == one[:2]
        # The same coefficients: the same score (logit) for every row, to 1e-6.
        worst = c.execute("""SELECT max(abs(ln(a / (1 - a)) - ln(b / (1 - b))))
                             FROM (SELECT shopml.predict_proba('lone', r) a, shopml.predict_proba('lmany', r) b
                                   FROM sales_all r) s""").fetchone()[0]
        assert worst < 1e-6, worst
        print(f"shards: logistic {options}: largest logit difference {worst:.2e}, "
              f"auc {one[2]['auc']:.6f} / sharded {many[2]['auc']:.6f}, iterations {many[2]['iterations']}")
        imp = c.execute("""SELECT max(abs(a.importance - b.importance)) FROM shopml.feature_importance('lone') a
                           JOIN shopml.feature_importance('lmany') b USING (feature)""").fetchone()[0]
        assert imp < 1e-6
        for m in ("log_loss", "accuracy", "precision", "recall", "f1"):
            assert many[2][m] == pytest.approx(one[2][m], rel=1e-6, abs=1e-9), m
        # The AUC from the shards' 1,024-bin score histograms.
        assert many[2]["auc"] == pytest.approx(one[2]["auc"], abs=1e-3)
        assert many[2]["sharded"]["partitions"] == 2 and many[2]["converged"]
        assert 0.6 < one[2]["auc"] < 0.99


@pytest.mark.parametrize("impute", ["mean", "skip"])
def test_sharded_logistic_with_missing_values_equals_one_server(sharded, impute):
    """NULL features filled with the training rows' mean (learnt across the shards) or skipped."""
    coord, shards = sharded
    null = "UPDATE sales SET x2 = NULL WHERE id % 7 = 0"
    try:
        for s in shards:
            with s.connect(DB) as conn:
                conn.execute(null)
        with coord.connect(DB) as c:
            c.execute(null.replace("sales", "sales_all"))
            q = "SELECT n_train, metrics FROM shopml.train_logistic(%s, %s, 'clicked', %s, %s)"
            options = f'{{"split_column": "id", "impute": "{impute}"}}'
            one = c.execute(q, ("mone", "sales_all", FEATURES, options)).fetchone()
            many = c.execute(q, ("mmany", "sales", FEATURES, options)).fetchone()
            assert one[0] == many[0] and (one[0] > 15_000) == (impute == "mean")
            assert many[1]["skipped_rows"] == one[1]["skipped_rows"]
            worst = c.execute("""SELECT max(abs(ln(a / (1 - a)) - ln(b / (1 - b))))
                                 FROM (SELECT shopml.predict_proba('mone', r) a, shopml.predict_proba('mmany', r) b
                                       FROM sales_all r) s""").fetchone()[0]
            assert worst < 1e-6, worst
    finally:
        fix = "UPDATE sales SET x2 = (abs(hashint8(id * 10 + 2)) % 100000) / 100000.0 WHERE x2 IS NULL"
        for s in shards:
            with s.connect(DB) as conn:
                conn.execute(fix)
        with coord.connect(DB) as c:
            c.execute(fix.replace("sales", "sales_all"))


def test_sharded_logistic_refuses_l1_and_two_valued_targets(sharded):
    coord, _ = sharded
    with coord.connect(DB) as c:
        before = models(c)
        with pytest.raises(psycopg.Error) as e:
            c.execute("SELECT * FROM shopml.train_logistic('bad', 'sales', 'clicked', options => '{\"l1\": 1}')")
        assert e.value.sqlstate == "0A000"
        with pytest.raises(psycopg.Error) as e:
            c.execute("SELECT * FROM shopml.train_logistic('bad', 'sales', 'region', ARRAY['x1'])")
        assert e.value.sqlstate == "22023" and "other than 0 and 1" in e.value.diag.message_primary
        assert models(c) == before


@pytest.mark.parametrize("call", [
    "SELECT * FROM shopml.train_forest('tf', 'sales', 'clicked', ARRAY['x1', 'x2'], '{\"n_trees\": 5}')",
    "SELECT * FROM shopml.train_kmeans('tk', 'sales', ARRAY['x1', 'x2'], 3)",
    "SELECT * FROM shopml.train_demand('td', 'sales', 'region', 'x1', 'y')",
])
def test_row_reading_trainers_train_on_a_sharded_table_and_say_rows_travel(sharded, call):
    coord, _ = sharded
    with coord.connect(DB) as c:
        notices = []
        c.add_notice_handler(lambda d: notices.append(d.message_primary))
        n_train = c.execute(call).fetchone()
        assert n_train is not None
        assert any("is sharded (servers s1, s2)" in n and "travel to this server" in n for n in notices), notices


def test_each_shard_computes_its_aggregate_and_returns_one_small_state(sharded):
    coord, shards = sharded
    with coord.connect(DB) as c:
        plan = "\n".join(r[0] for r in c.execute(
            "EXPLAIN (VERBOSE) SELECT shopml._linear_stats(shopml._linear_scan_config(5, 0), NULL::int8, y, x1, x2, x3, x4, x5) FROM sales_1"))
        assert "Remote SQL: SELECT shopml._linear_stats(" in plan, plan
        size = "SELECT octet_length(shopml._linear_stats(shopml._linear_scan_config(5, 0, false), NULL::int8, y, x1, x2, x3, x4, x5)) FROM sales_1"
        small = c.execute(size).fetchone()[0]
        with shards[0].connect(DB) as s:
            s.execute(f"INSERT INTO sales {rows(200_000, 'WHERE region = 1 AND id > 20000')}")
        try:
            large = c.execute(size).fetchone()[0]
        finally:
            with shards[0].connect(DB) as s:
                s.execute("DELETE FROM sales WHERE id > 20000")
        # 10k rows and 110k rows: the same few hundred bytes of statistics (counts are varints:
        # a byte more each time they pass a power of 128).
        assert small < 1024 and abs(large - small) <= 8
        print(f"shards: partial state per shard {small} bytes at 10k rows, {large} bytes at 110k rows")


def test_value_typed_partial_states_from_shards_merge_to_the_one_server_fit(sharded):
    """linear_partial's bytea state (a value with a combine function, what Citus needs) computed
    on each shard by postgres_fdw, moved as text, merged and fitted on the coordinator."""
    coord, _ = sharded
    x = "ARRAY[x1, x2, x3, x4, x5]"
    parts = " UNION ALL ".join(f"SELECT shopml.linear_partial(y, {x}) AS s FROM sales_{k}" for k in (1, 2))
    with coord.connect(DB) as c:
        plan = "\n".join(r[0] for r in c.execute(f"EXPLAIN (VERBOSE) {parts}"))
        assert plan.count("Remote SQL: SELECT shopml.linear_partial(") == 2, plan
        many = c.execute(f"SELECT shopml.linear_fit_state(shopml.linear_merge(s::text::bytea)) FROM ({parts}) t").fetchone()[0]
        one = c.execute(f"SELECT shopml.linear_fit(y, {x}) FROM sales_all").fetchone()[0]
        assert many["n"] == one["n"] == 20_000
        for a, b in zip(many["coefficients"] + [many["intercept"]], one["coefficients"] + [one["intercept"]]):
            assert a == pytest.approx(b, rel=1e-9)
        sizes = [r[0] for r in c.execute(f"SELECT octet_length(s) FROM ({parts}) t")]
        assert sizes == [16 + 8 * (2 + 6 + 21)] * 2


def test_rows_travel_with_a_notice_when_the_server_does_not_list_shopml(sharded):
    coord, _ = sharded
    with coord.connect(DB) as c:
        c.execute("ALTER SERVER s2 OPTIONS (DROP extensions)")
        try:
            notices = []
            c.add_notice_handler(lambda d: notices.append(d.message_primary))
            train(c, "travel", "sales")
            assert any("travel from server \"s2\"" in n for n in notices), notices
            train(c, "one", "sales_all")
            assert coefficients(c, "travel")["x2"] == pytest.approx(coefficients(c, "one")["x2"], rel=1e-9)
        finally:
            c.execute("ALTER SERVER s2 OPTIONS (ADD extensions 'shopml')")


def expect_error(coord, state, *words):
    with coord.connect(DB) as c:
        before = models(c)
        with pytest.raises(psycopg.Error) as e:
            train(c, "bad", "sales")
        assert e.value.sqlstate == state, e.value.diag.message_primary
        for w in words:
            assert w in e.value.diag.message_primary, e.value.diag.message_primary
        assert models(c) == before
    return e.value


def test_shard_without_shopml_is_42883_naming_it(sharded):
    coord, shards = sharded
    with shards[1].connect(DB) as s:
        s.execute("DROP EXTENSION shopml CASCADE")
    try:
        e = expect_error(coord, "42883", 'shard "s2"', "sales_2", "not installed")
        assert "CREATE EXTENSION shopml" in e.diag.message_hint
    finally:
        with shards[1].connect(DB) as s:
            s.execute("CREATE EXTENSION shopml")


def test_shard_with_other_column_types_is_42804_naming_it(sharded):
    coord, shards = sharded
    with shards[1].connect(DB) as s:
        s.execute("ALTER TABLE sales ALTER x3 TYPE text")
    try:
        expect_error(coord, "42804", 'shard "s2"', "text")
    finally:
        with shards[1].connect(DB) as s:
            s.execute("ALTER TABLE sales ALTER x3 TYPE float8 USING x3::float8")


def test_partial_state_of_a_newer_format_is_XX001_naming_the_version(sharded):
    coord, shards = sharded
    # A shard whose shopml is a (pretend) 9.9.9 writing partial format 9: an aggregate of the
    # same name and argument types answering with such a state.
    header = b"SMLP" + bytes([9, 5]) + b"9.9.9" + b"\x00" * 8
    with shards[1].connect(DB) as s:
        s.execute("DROP EXTENSION shopml CASCADE")
        s.execute("DROP SCHEMA IF EXISTS shopml CASCADE")
        s.execute("CREATE SCHEMA shopml")
        s.execute("CREATE FUNCTION shopml.keep(bytea, bytea, bigint, VARIADIC float8[]) RETURNS bytea "
                  "LANGUAGE sql AS 'SELECT $1'")
        s.execute(f"""CREATE AGGREGATE shopml._linear_stats(bytea, bigint, VARIADIC float8[])
                      (sfunc = shopml.keep, stype = bytea, initcond = '\\x{header.hex()}')""")
    try:
        e = expect_error(coord, "XX001", "format 9", "shopml 9.9.9", 'shard "s2"')
        assert "9.9.9 or later" in e.diag.message_hint
    finally:
        with shards[1].connect(DB) as s:
            s.execute("DROP SCHEMA shopml CASCADE")
            s.execute("CREATE EXTENSION shopml")


def test_unreachable_shard_fails_naming_it(sharded):
    coord, shards = sharded
    shards[1].stop()
    try:
        expect_error(coord, "08001", 'shard "s2"')
    finally:
        shards[1].start()


def test_sharded_logistic_on_a_million_rows_starts_warm_and_equals_one_server(sharded):
    """Past 800k training rows both trainers start Newton from a subsample (the first blocks of
    each shard here, every k-th row in memory): the same optimum all the same."""
    coord, shards = sharded
    more = "WHERE id > 20000"
    try:
        for k, s in enumerate(shards, start=1):
            with s.connect(DB) as conn:
                conn.execute(f"INSERT INTO sales {rows(1_020_000, f'{more} AND region = {k}')}")
        with coord.connect(DB) as c:
            c.execute(f"INSERT INTO sales_all {rows(1_020_000, more)}")
            q = "SELECT n_train, metrics FROM shopml.train_logistic(%s, %s, 'clicked', %s, '{\"test_fraction\": 0}')"
            one = c.execute(q, ("wone", "sales_all", FEATURES)).fetchone()
            many = c.execute(q, ("wmany", "sales", FEATURES)).fetchone()
            assert one[0] == many[0] == 1_020_000
            assert many[1]["sharded"]["warm_start_passes"] > 0
            worst = c.execute("""SELECT max(abs(ln(a / (1 - a)) - ln(b / (1 - b))))
                                 FROM (SELECT shopml.predict_proba('wone', r) a, shopml.predict_proba('wmany', r) b
                                       FROM sales_all r WHERE id % 100 = 0) s""").fetchone()[0]
            assert worst < 1e-6, worst
            print(f"shards: logistic on 1.02M rows: {many[1]['sharded']}, largest logit difference {worst:.2e}")
    finally:
        for s in shards:
            with s.connect(DB) as conn:
                conn.execute(f"DELETE FROM sales {more}")
        with coord.connect(DB) as c:
            c.execute(f"DELETE FROM sales_all {more}")
