"""pg_cancel_backend stops every kind of training within a second with 57014; the memory
limit stops a training early with 53200; nothing is written. Every long training says how it
is going: a NOTICE at most once a second."""
import re
import threading
import time

import pytest

from conftest import connect, sqlstate

SMALL = "CREATE TABLE IF NOT EXISTS cancel_small AS SELECT i FROM generate_series(1, 20000) i; "
TRAININGS = {
    # A streaming cross join of 400M rows (a view, so one backend reads them all): the
    # aggregate scan would run for minutes.
    "linear": (SMALL + "CREATE OR REPLACE VIEW huge_linear AS SELECT (a.i * b.i)::float8 AS x, "
               "(2 * a.i * b.i)::float8 AS y FROM cancel_small a, cancel_small b",
               "SELECT * FROM shopml.train_linear('cancel_linear', 'huge_linear', 'y')"),
    # 300k interactions and 1000 iterations.
    "recommender": ("CREATE TABLE IF NOT EXISTS cancel_clicks AS SELECT (i % 20000) AS u, "
                    "(i * 7919) % 5000 AS i FROM generate_series(1, 300000::bigint) i",
                    "SELECT * FROM shopml.train_recommender('cancel_recs', 'cancel_clicks', 'u', 'i', "
                    "options => '{\"iterations\": 1000, \"test_fraction\": 0, \"regularization\": 1}')"),
    # Sales rows streaming from a 400M-row cross join: reading them is what takes the time.
    "demand": (SMALL + "CREATE OR REPLACE VIEW huge_sales AS SELECT (a.i * b.i) % 1000 AS product_id, "
               "(1 + (b.i % 7))::float8 AS price, (a.i % 5)::float8 AS units FROM cancel_small a, cancel_small b",
               "SELECT * FROM shopml.train_demand('cancel_demand', 'huge_sales', 'product_id', 'price', 'units')"),
    # A streaming cross join of 400M rows read by the training's DestReceiver.
    "logistic": (SMALL + "CREATE OR REPLACE VIEW huge_clicks AS SELECT (a.i % 2) AS y, ((a.i * b.i) % 1000)::float8 AS x, "
                 "('s' || (b.i % 5000)) AS site FROM cancel_small a, cancel_small b",
                 "SELECT * FROM shopml.train_logistic('cancel_logistic', 'huge_clicks', 'y', ARRAY['x', 'site'])"),
    # 20k rows and 10,000 trees: growing them is what takes the time.
    "forest": ("CREATE TABLE IF NOT EXISTS cancel_forest AS SELECT random() AS x1, random() AS x2, random() AS x3, "
               "(random() < 0.5) AS y FROM generate_series(1, 20000)",
               "SELECT * FROM shopml.train_forest('cancel_forest', 'cancel_forest', 'y', "
               "options => '{\"n_trees\": 10000}')"),
    # 200k rows and 100,000 boosting iterations: the monitor is ticked after every tree.
    "boosted": ("CREATE TABLE IF NOT EXISTS cancel_boost AS SELECT random() AS x1, random() AS x2, random() AS x3, "
                "random() AS y FROM generate_series(1, 200000)",
                "SELECT * FROM shopml.train_boosted('cancel_boost', 'cancel_boost', 'y', "
                "options => '{\"n_trees\": 100000, \"learning_rate\": 0.01}')"),
}


def prepared(db, cases, kind):
    """Runs the setup of a case; returns its training statement."""
    setup, training = cases[kind]
    with connect(db) as c:
        c.execute(setup)
    return training


@pytest.mark.parametrize("kind", sorted(TRAININGS))
def test_pg_cancel_backend_stops_training_within_a_second(db, kind):
    training = prepared(db, TRAININGS, kind)
    worker = connect(db)
    pid = worker.info.backend_pid
    result = {}

    def run():
        t0 = time.monotonic()
        result["state"] = sqlstate(lambda: worker.execute(training))
        result["end"] = time.monotonic()
        result["start"] = t0

    t = threading.Thread(target=run)
    t.start()
    time.sleep(2.0)
    assert t.is_alive(), f"{kind} training finished before it could be cancelled"
    with connect(db) as c:
        cancelled_at = time.monotonic()
        assert c.execute("SELECT pg_cancel_backend(%s)", (pid,)).fetchone()[0]
    t.join(timeout=10)
    assert not t.is_alive()
    assert result["state"] == "57014"
    assert result["end"] - cancelled_at < 1.0, f"{kind}: stopped {result['end'] - cancelled_at:.2f} s after the cancel"
    # The session is still usable and nothing was written.
    assert worker.execute("SELECT 1").fetchone()[0] == 1
    worker.close()
    with connect(db) as c:
        name = "cancel_recs" if kind == "recommender" else f"cancel_{kind}"
        assert c.execute("SELECT count(*) FROM shopml.models WHERE model_name = %s", (name,)).fetchone()[0] == 0


PROGRESS = re.compile(r'^shopml: training "cancel_\w+": [a-z ]+(: iteration \d+(/\d+)?(, loss [-0-9.e]+)?)?'
                      r'(, \d+ rows read)?, (\d+\.\d) s elapsed$')


@pytest.mark.parametrize("kind", sorted(TRAININGS))
def test_statement_timeout_stops_training_that_reported_progress(db, kind):
    training = prepared(db, TRAININGS, kind)
    with connect(db) as c:
        notices = []
        c.add_notice_handler(lambda d: notices.append((time.monotonic(), d.message_primary)))
        c.execute("SET statement_timeout = '3500ms'")
        t0 = time.monotonic()
        assert sqlstate(lambda: c.execute(training)) == "57014"
        elapsed = time.monotonic() - t0
        c.execute("RESET statement_timeout")
        assert elapsed < 4.5, f"{kind}: stopped after {elapsed:.2f} s with a 3.5 s timeout"
    progress = [(t, m) for t, m in notices if m.startswith("shopml: training")]
    # About one a second from the first second on: at 1, 2 and 3 s.
    assert 2 <= len(progress) <= 4, f"{kind}: {progress}"
    for (t, m), (t_next, _) in zip(progress, progress[1:]):
        assert t_next - t > 0.8, f"{kind}: two NOTICEs {t_next - t:.2f} s apart"
    for _, m in progress:
        match = PROGRESS.match(m)
        assert match, f"{kind}: {m!r}"
        assert 0.9 <= float(match.group(5)) <= 3.6, m


LARGE = {
    "recommender": TRAININGS["recommender"],
    # Three million rows for boosted trees (cells, prepared rows, bin codes and gradients).
    "boosted": ("CREATE TABLE IF NOT EXISTS large_boost AS SELECT random() AS x, (i % 7)::float8 AS y "
                "FROM generate_series(1, 3000000) i",
                "SELECT * FROM shopml.train_boosted('memory_boost', 'large_boost', 'y')"),
    # Three million rows of a table read by the DestReceiver, the kept rows counted as they come.
    "logistic": ("CREATE TABLE IF NOT EXISTS large_clicks AS SELECT (i % 2) AS y, (i % 1000)::float8 AS x "
                 "FROM generate_series(1, 3000000) i",
                 "SELECT * FROM shopml.train_logistic('memory_logistic', 'large_clicks', 'y')"),
    # Three million sales rows (a view of generate_series, materialised by the scan).
    "demand": ("CREATE OR REPLACE VIEW large_sales AS SELECT i % 1000 AS product_id, "
               "(1 + (i % 7))::float8 AS price, (i % 5)::float8 AS units FROM generate_series(1, 3000000) i",
               "SELECT * FROM shopml.train_demand('memory_demand', 'large_sales', 'product_id', 'price', 'units')"),
}


@pytest.mark.parametrize("kind", sorted(LARGE))
def test_memory_limit_stops_training_early(db, kind):
    training = prepared(db, LARGE, kind)
    with connect(db) as c:
        c.execute("SET shopml.max_training_memory = '8MB'")
        t0 = time.monotonic()
        try:
            c.execute(training)
            raise AssertionError("training did not stop")
        except Exception as e:  # noqa: BLE001
            assert getattr(e, "sqlstate", None) == "53200", repr(e)
            assert "shopml.max_training_memory" in str(e)
            assert "raise shopml.max_training_memory" in (e.diag.message_hint or "")
        assert time.monotonic() - t0 < 5.0
        c.execute("RESET shopml.max_training_memory")
        # A non-superuser cannot lift the limit.
        c.execute("DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'shopml_mem_user') "
                  "THEN CREATE ROLE shopml_mem_user; END IF; END $$")
        c.execute("SET ROLE shopml_mem_user")
        try:
            c.execute("SET shopml.max_training_memory = '100GB'")
            raise AssertionError("an ordinary role changed the limit")
        except Exception as e:  # noqa: BLE001
            assert getattr(e, "sqlstate", None) == "42501", repr(e)
        c.execute("RESET ROLE")


# tune and update: (setup, statement, model whose rows must stay as they were).
LOOPS = {
    # The one-scan ridge search reads the 400M-row view once for every fold's statistics.
    "tune_ridge": (TRAININGS["linear"][0],
                   "SELECT * FROM shopml.tune('cancel_tune_ridge', 'linear', 'huge_linear', '{\"target\": \"y\"}', "
                   "'{\"l2\": [0.1, 1, 10]}')"),
    # Each trial grows 10,000 trees on a fold's rows.
    "tune_forest": (TRAININGS["forest"][0],
                    "SELECT * FROM shopml.tune('cancel_tune_forest', 'forest', 'cancel_forest', "
                    "'{\"target\": \"y\", \"options\": {\"n_trees\": 10000}}', '{\"max_depth\": [4, 8]}')"),
    # A linear model of a few rows updated from the 400M-row view.
    "update": (TRAININGS["linear"][0] + "; CREATE TABLE IF NOT EXISTS cancel_update_rows AS "
               "SELECT i::float8 AS x, 2.0 * i AS y FROM generate_series(1, 100) i; "
               "SELECT shopml.drop_model(model_name) FROM shopml.models WHERE model_name = 'cancel_update' AND version = 1; "
               "SELECT version FROM shopml.train_linear('cancel_update', 'cancel_update_rows', 'y')",
               "SELECT * FROM shopml.update('cancel_update', 'huge_linear')"),
}


def versions(c, kind):
    name = "cancel_update" if kind == "update" else f"cancel_{kind}"
    return c.execute("SELECT count(*) FROM shopml.models WHERE model_name = %s", (name,)).fetchone()[0]


@pytest.mark.parametrize("kind", sorted(LOOPS))
def test_cancel_and_timeout_stop_tune_and_update(db, kind):
    statement = prepared(db, LOOPS, kind)
    with connect(db) as c:
        before = versions(c, kind)
    # pg_cancel_backend: 57014 within a second, the session usable, nothing written.
    worker = connect(db)
    pid, result = worker.info.backend_pid, {}

    def run():
        result["state"] = sqlstate(lambda: worker.execute(statement))
        result["end"] = time.monotonic()

    t = threading.Thread(target=run)
    t.start()
    time.sleep(2.0)
    assert t.is_alive(), f"{kind} finished before it could be cancelled"
    with connect(db) as c:
        cancelled_at = time.monotonic()
        assert c.execute("SELECT pg_cancel_backend(%s)", (pid,)).fetchone()[0]
    t.join(timeout=10)
    assert not t.is_alive() and result["state"] == "57014"
    assert result["end"] - cancelled_at < 1.0, f"{kind}: stopped {result['end'] - cancelled_at:.2f} s after the cancel"
    assert worker.execute("SELECT 1").fetchone()[0] == 1
    worker.close()
    # statement_timeout: the same, with progress NOTICEs about once a second meanwhile.
    with connect(db) as c:
        notices = []
        c.add_notice_handler(lambda d: notices.append(d.message_primary))
        c.execute("SET statement_timeout = '2500ms'")
        t0 = time.monotonic()
        assert sqlstate(lambda: c.execute(statement)) == "57014"
        assert time.monotonic() - t0 < 3.5
        c.execute("RESET statement_timeout")
        assert 1 <= sum(m.startswith("shopml: t") for m in notices) <= 3, notices
        assert versions(c, kind) == before
        assert c.execute("SELECT count(*) FROM pg_class WHERE relname LIKE 'shopml_tune_%'").fetchone()[0] == 0
