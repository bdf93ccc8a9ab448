"""Four connections predict and recommend in a loop while a fifth retrains and redeploys the
same models five times: no errors, and every answer is exactly one version's answer."""
import threading
import time

from conftest import connect


def test_predictions_during_redeployments(db):
    with connect(db) as c:
        c.execute("DROP TABLE IF EXISTS conc")
        c.execute("CREATE TABLE conc AS SELECT i::float8 AS x, i::float8 AS y FROM generate_series(1, 1000) i")
        c.execute("SELECT * FROM shopml.train_linear('conc', 'conc', 'y', ARRAY['x'], '{\"test_fraction\": 0}')")
        c.execute("""SELECT * FROM shopml.train_recommender('conc_recs', 'shop.purchases', 'customer_id',
                     'product_id', options => '{"test_fraction": 0, "iterations": 3, "regularization": 30, "seed": 1}')""")
    stop = threading.Event()
    errors, seen, recs_seen = [], [], []

    def predictor(n):
        with connect(db) as c:
            while not stop.is_set():
                try:
                    seen.append(c.execute("SELECT shopml.predict('conc', ARRAY[1.0])").fetchone()[0])
                    rows = c.execute("SELECT array_agg(item_id ORDER BY rank) FROM "
                                     "shopml.recommend_for_user('conc_recs', %s, 5)", (40 + n,)).fetchone()[0]
                    recs_seen.append((40 + n, tuple(rows)))
                except Exception as e:  # noqa: BLE001 - every error is a failure here
                    errors.append(repr(e))

    threads = [threading.Thread(target=predictor, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    with connect(db) as c:
        for version in range(2, 7):
            # Version v predicts exactly v·x; the recommender changes with its seed.
            c.execute("UPDATE conc SET y = %s * x", (version,))
            c.execute("SELECT * FROM shopml.train_linear('conc', 'conc', 'y', ARRAY['x'], '{\"test_fraction\": 0}')")
            c.execute("""SELECT * FROM shopml.train_recommender('conc_recs', 'shop.purchases', 'customer_id',
                         'product_id', options => jsonb_build_object('test_fraction', 0, 'iterations', 3,
                         'regularization', 30, 'seed', %s::int))""", (version,))
            time.sleep(0.3)
    time.sleep(0.5)
    stop.set()
    for t in threads:
        t.join()
    assert errors == []
    assert len(seen) > 100
    # Every prediction is one version's exact answer, never a mix.
    assert {round(v, 9) for v in seen} <= {1.0, 2.0, 3.0, 4.0, 5.0, 6.0}
    assert len({round(v, 9) for v in seen}) >= 3
    # Every recommendation list is exactly what one deployed version gives.
    answers = {}
    with connect(db) as c:
        for version in range(1, 7):
            c.execute("SELECT shopml.deploy('conc_recs', %s)", (version,))
            for user in range(40, 44):
                rows = c.execute("SELECT array_agg(item_id ORDER BY rank) FROM "
                                 "shopml.recommend_for_user('conc_recs', %s, 5)", (user,)).fetchone()[0]
                answers.setdefault(user, set()).add(tuple(rows))
    assert all(r in answers[u] for u, r in recs_seen)


def test_concurrent_trainings_get_distinct_versions(db):
    with connect(db) as c:
        c.execute("DROP TABLE IF EXISTS same_src")
        c.execute("CREATE TABLE same_src AS SELECT i::float8 AS x, (3 * i)::float8 AS y FROM generate_series(1, 20000) i")
        c.execute("SELECT shopml.drop_model('same') WHERE EXISTS (SELECT 1 FROM shopml.models WHERE model_name = 'same')")
    versions, errors = [], []
    barrier = threading.Barrier(4)

    def trainer():
        with connect(db) as c:
            barrier.wait()
            try:
                versions.append(c.execute("SELECT version FROM shopml.train_linear('same', 'same_src', 'y')").fetchone()[0])
            except Exception as e:  # noqa: BLE001
                errors.append(repr(e))

    threads = [threading.Thread(target=trainer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(versions) == [1, 2, 3, 4]
