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
