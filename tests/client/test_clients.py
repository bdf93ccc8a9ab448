"""Real clients: SQLAlchemy (psycopg 3) with bound parameters, pg_cron retraining on a
schedule, and the plain views a BI tool charts."""
import time

from sqlalchemy import bindparam, column, create_engine, func, select, text

from conftest import PORT, connect


def test_sqlalchemy_calls_with_bound_parameters(db):
    with connect(db) as c:
        c.execute("""SELECT * FROM shopml.train_recommender('orm_recs', 'shop.purchases', 'customer_id',
                     'product_id', options => '{"test_fraction": 0, "regularization": 30}')""")
        c.execute("CREATE TABLE IF NOT EXISTS orm_src AS SELECT i::float8 AS x, (2 * i + 1)::float8 AS y FROM generate_series(1, 100) i")
        c.execute("SELECT * FROM shopml.train_linear('orm_lin', 'orm_src', 'y', ARRAY['x'])")
    engine = create_engine(f"postgresql+psycopg://postgres@localhost:{PORT}/{db}")
    with engine.connect() as conn:
        y = conn.execute(select(func.shopml.predict(bindparam("m"), bindparam("x"))),
                         {"m": "orm_lin", "x": [10.0]}).scalar_one()
        assert abs(y - 21.0) < 1e-9
        recs = func.shopml.recommend_for_user(bindparam("m"), bindparam("user"), bindparam("k"))
        rows = conn.execute(select(column("item_id"), column("score"), column("rank")).select_from(recs),
                            {"m": "orm_recs", "user": 42, "k": 5}).all()
        assert [r.rank for r in rows] == [1, 2, 3, 4, 5]
        bought = {r[0] for r in conn.execute(text(
            "SELECT product_id FROM shop.purchases WHERE customer_id = :c"), {"c": 42})}
        assert not bought & {r.item_id for r in rows}
        # The same through a table-valued function with named columns.
        tv = func.shopml.similar_items("orm_recs", 17, 3).table_valued("item_id", "score", "rank")
        assert len(conn.execute(select(tv.c.item_id, tv.c.score)).all()) == 3


def test_pg_cron_retrains_on_a_schedule(db):
    with connect(db) as c:
        c.execute("CREATE EXTENSION IF NOT EXISTS pg_cron")
        c.execute("CREATE TABLE IF NOT EXISTS cron_src AS SELECT i::float8 AS x, (5 * i)::float8 AS y FROM generate_series(1, 100) i")
        c.execute("SELECT * FROM shopml.train_linear('cron_model', 'cron_src', 'y', ARRAY['x'])")
        # Debian's pg_cron 1.4 schedules by the minute.
        job = c.execute("SELECT cron.schedule('shopml-retrain', '* * * * *', "
                        "$$SELECT version FROM shopml.train_linear('cron_model', 'cron_src', 'y', ARRAY['x'])$$)").fetchone()[0]
        try:
            deadline = time.monotonic() + 75
            versions = 1
            while time.monotonic() < deadline and versions < 2:
                time.sleep(2)
                versions = c.execute("SELECT max(version) FROM shopml.models WHERE model_name = 'cron_model'").fetchone()[0]
            runs = c.execute("SELECT status, return_message FROM cron.job_run_details WHERE jobid = %s", (job,)).fetchall()
            assert versions >= 2, f"no new version; job runs: {runs}"
            assert all(r[0] == "succeeded" for r in runs if r[0] != "running"), runs
            row = c.execute("SELECT deployed, created_by FROM shopml.models WHERE model_name = 'cron_model' "
                            "ORDER BY version DESC LIMIT 1").fetchone()
            assert row == (True, "postgres")
        finally:
            c.execute("SELECT cron.unschedule(%s)", (job,))


def wait_for(c, query, done, seconds=75):
    """Polls query every 2 s until done(its first value) or the deadline; returns the value."""
    deadline = time.monotonic() + seconds
    value = c.execute(query).fetchone()[0]
    while time.monotonic() < deadline and not done(value):
        time.sleep(2)
        value = c.execute(query).fetchone()[0]
    return value


def test_pg_cron_updates_from_rows_since_the_last_update(db):
    """The README's recipe: a scheduled shopml.update over the whole table that reads only the
    rows after the stored high-water mark (every minute here: Debian's pg_cron 1.4 schedules by
    the minute; the recipe says hourly)."""
    with connect(db) as c:
        c.execute("CREATE EXTENSION IF NOT EXISTS pg_cron")
        c.execute("DROP TABLE IF EXISTS cron_orders")
        c.execute("CREATE TABLE cron_orders AS SELECT timestamptz '2026-11-01 00:00+00' + i * interval '1 minute' AS created_at, "
                  "i::float8 AS x, (i % 7)::float8 AS z, (3 * i + 2 * (i % 7) + sin(i))::float8 AS y "
                  "FROM generate_series(1, 200) i")
        c.execute("SELECT shopml.drop_model('cron_upd') FROM shopml.models WHERE model_name = 'cron_upd' AND version = 1")
        c.execute("SELECT * FROM shopml.train_linear('cron_upd', 'cron_orders', 'y', ARRAY['x', 'z'], '{\"test_fraction\": 0}')")
        # The first update is told where the model's rows end; it stores the mark.
        c.execute("INSERT INTO cron_orders SELECT timestamptz '2026-11-01 00:00+00' + i * interval '1 minute', i, i % 7, "
                  "3 * i + 2 * (i % 7) + sin(i) FROM generate_series(201, 250) i")
        c.execute("""SELECT shopml.update('cron_upd', 'cron_orders',
                     '{"since_column": "created_at", "since": "2026-11-01 03:20+00", "test_fraction": 0}')""")
        job = c.execute("SELECT cron.schedule('shopml-update', '* * * * *', $$SELECT version FROM shopml.update("
                        "'cron_upd', 'cron_orders', '{\"since_column\": \"created_at\", \"test_fraction\": 0}')$$)").fetchone()[0]
        try:
            c.execute("INSERT INTO cron_orders SELECT timestamptz '2026-11-01 00:00+00' + i * interval '1 minute', i, i % 7, "
                      "3 * i + 2 * (i % 7) + sin(i) FROM generate_series(251, 280) i")
            latest = "SELECT max(version) FROM shopml.models WHERE model_name = 'cron_upd'"
            versions = wait_for(c, latest, lambda v: v >= 3)
            runs = c.execute("SELECT status, return_message FROM cron.job_run_details WHERE jobid = %s", (job,)).fetchall()
            assert versions == 3, f"no scheduled update; job runs: {runs}"
            m = c.execute("SELECT metrics, deployed FROM shopml.models WHERE model_name = 'cron_upd' AND version = 3").fetchone()
            assert m[1] and m[0]["parent_version"] == 2 and m[0]["rows_added"] == 30, m
            # The chain of updates equals one training on every row.
            c.execute("SELECT * FROM shopml.train_linear('cron_full', 'cron_orders', 'y', ARRAY['x', 'z'], "
                      "'{\"test_fraction\": 0, \"deploy\": false}')")
            diff = c.execute("SELECT max(abs(a.coefficient - b.coefficient) + abs(a.std_error - b.std_error)) "
                             "FROM shopml.coefficients('cron_upd') a JOIN shopml.coefficients('cron_full', 1) b "
                             "USING (feature)").fetchone()[0]
            assert diff < 1e-9
            # A run with nothing new fails with a message and writes nothing; the model serves.
            seen = len(runs)
            failed = wait_for(c, "SELECT count(*) FILTER (WHERE status = 'failed') FROM cron.job_run_details "
                                 f"WHERE jobid = {job}", lambda n: n >= 1)
            runs = c.execute("SELECT status, return_message FROM cron.job_run_details WHERE jobid = %s "
                             "ORDER BY start_time", (job,)).fetchall()
            assert failed >= 1 and len(runs) > seen, runs
            assert any("nothing to update" in (r[1] or "") for r in runs if r[0] == "failed"), runs
            assert c.execute(latest).fetchone()[0] == 3
            assert abs(c.execute("SELECT shopml.predict('cron_upd', ARRAY[10.0, 3.0])").fetchone()[0] - 36.0) < 1.0
        finally:
            c.execute("SELECT cron.unschedule(%s)", (job,))
            c.execute("SELECT shopml.drop_model('cron_full')")


def test_bi_views_need_no_json(db):
    with connect(db) as c:
        c.execute("CREATE TABLE IF NOT EXISTS bi_src AS SELECT i::float8 AS x, (i % 7)::float8 AS z, "
                  "(2 * i + (i % 7))::float8 AS y FROM generate_series(1, 500) i")
        c.execute("SELECT * FROM shopml.train_linear('bi_lin', 'bi_src', 'y')")
        rows = dict(c.execute("SELECT metric, value FROM shopml.model_metrics "
                              "WHERE model_name = 'bi_lin' AND deployed").fetchall())
        assert {"r2", "rmse", "mae", "test.r2", "train.n", "skipped_rows"} <= set(rows)
        assert rows["r2"] > 0.99
        rec = dict(c.execute("SELECT metric, value FROM shopml.model_metrics WHERE model_name = 'orm_recs' "
                             "OR model_name = 'conc_recs'").fetchall())
        assert "pairs" in rec
        types = dict(c.execute("SELECT column_name, data_type FROM information_schema.columns "
                               "WHERE table_schema = 'shopml' AND table_name = 'model_metrics'").fetchall())
        assert types["value"] == "double precision" and types["metric"] == "text"
        dep = c.execute("SELECT version, algorithm, owner FROM shopml.deployed_models WHERE model_name = 'bi_lin'").fetchone()
        assert dep == (1, "linear", "postgres")
