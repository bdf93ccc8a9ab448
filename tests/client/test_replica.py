"""A hot standby serves models: a primary with the sample shop and trained models, a standby
made from it with pg_basebackup -R, both started here (ports 5591/5592) and removed at the end.

The standby answers every serving function exactly as the primary does; a deployment or a
retraining on the primary is served by the standby's first statement after it has replayed
it; a training (or deployment) on the standby fails with 25006 and a hint."""
import time

import psycopg
import pytest

from clusters import Cluster, shop_with_models

DB = "shop_replica"

# Every serving function and catalog view, as the BI tool or application would call them.
SERVING = [
    "SELECT shopml.predict('lin', ARRAY[1.5])",
    "SELECT shopml.predict('lin', l) FROM lin l ORDER BY x LIMIT 3",
    "SELECT shopml.predict('ctr', a), shopml.predict_proba('ctr', a), shopml.predict_label('ctr', a) "
    "FROM shop.ad_training a ORDER BY a.affinity, a.position, a.quality LIMIT 5",
    "SELECT rank, item_id, score FROM shopml.recommend_for_user('recs', 42, 5)",
    "SELECT rank, item_id, score FROM shopml.similar_items('recs', 17, 5)",
    "SELECT price, expected_quantity, expected_profit, binding "
    "FROM shopml.optimal_price('prices', 17, 5.0, min_price => 6, max_price => 40)",
    "SELECT * FROM shopml.price_curve('prices', 17, 5.0, 6, 40, 5)",
    "SELECT model_name, version, algorithm, deployed FROM shopml.models ORDER BY 1, 2",
    "SELECT model_name, version FROM shopml.deployed_models ORDER BY 1",
    "SELECT model_name, version, metric FROM shopml.model_metrics ORDER BY 1, 2, 3",
    "SELECT * FROM shopml.feature_importance('ctr') ORDER BY 1",
]


@pytest.fixture(scope="module")
def pair():
    primary, standby = Cluster("primary", 5591), Cluster("standby", 5592)
    try:
        primary.init()
        shop_with_models(primary, DB)
        standby.standby_of(primary)
        yield primary, standby
    finally:
        standby.remove()
        primary.remove()


def replay_lsn_reached(standby_conn, lsn):
    return standby_conn.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (lsn,)).fetchone()[0]


def test_standby_is_in_recovery(pair):
    _, standby = pair
    with standby.connect(DB) as s:
        assert s.execute("SELECT pg_is_in_recovery()").fetchone()[0] is True


def test_standby_serves_every_serving_function_as_the_primary(pair):
    primary, standby = pair
    with primary.connect(DB) as p, standby.connect(DB) as s:
        lsn = p.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
        while not replay_lsn_reached(s, lsn):
            time.sleep(0.01)
        for q in SERVING:
            want = p.execute(q).fetchall()
            assert want, q
            assert s.execute(q).fetchall() == want, q


def test_deployment_and_retraining_served_by_the_next_statement_after_replay(pair):
    primary, standby = pair
    with primary.connect(DB) as p, standby.connect(DB) as s:
        assert s.execute("SELECT shopml.predict('lin', ARRAY[1.0])").fetchone()[0] == pytest.approx(2.0)
        timings = []
        for slope, action in ((3, "retrain"), (2, "deploy 1"), (3, "deploy 2")):
            t0 = time.perf_counter()
            if action == "retrain":
                p.execute("UPDATE lin SET y = 3 * x")
                p.execute("SELECT * FROM shopml.train_linear('lin', 'lin', 'y', ARRAY['x'], '{\"test_fraction\": 0}')")
            else:
                p.execute("SELECT shopml.deploy('lin', %s)", (int(action.split()[1]),))
            committed = time.perf_counter()
            lsn = p.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
            while not replay_lsn_reached(s, lsn):
                time.sleep(0.001)
            replayed = time.perf_counter()
            # The first statement after replay serves the new version.
            got = s.execute("SELECT shopml.predict('lin', ARRAY[1.0])").fetchone()[0]
            served = time.perf_counter()
            assert got == pytest.approx(float(slope)), action
            timings.append((action, committed - t0, replayed - committed, served - replayed))
        for action, work, replay, serve in timings:
            print(f"standby: {action}: primary {work * 1e3:.1f} ms, replayed {replay * 1e3:.1f} ms after commit, "
                  f"served {serve * 1e3:.1f} ms after replay")


def test_training_and_deploying_on_the_standby_fail_with_25006(pair):
    _, standby = pair
    with standby.connect(DB) as s:
        for q in ["SELECT * FROM shopml.train_linear('lin2', 'lin', 'y', ARRAY['x'])",
                  "SELECT * FROM shopml.train_logistic('ctr', 'shop.ad_training', 'clicked')",
                  "SELECT * FROM shopml.train_recommender('recs', 'shop.purchases', 'customer_id', 'product_id')",
                  "SELECT * FROM shopml.train_demand('prices', 'shop.sales', 'product_id', 'price', 'units')"]:
            with pytest.raises(psycopg.Error) as e:
                s.execute(q)
            assert e.value.sqlstate == "25006", q
            assert "hot standby" in e.value.diag.message_primary
            assert "primary" in (e.value.diag.message_hint or ""), q
        with pytest.raises(psycopg.Error) as e:
            s.execute("SELECT shopml.deploy('lin', 1)")
        assert e.value.sqlstate == "25006"
        # Nothing changed: the standby still serves what the primary deployed.
        assert s.execute("SELECT count(*) FROM shopml.models WHERE model_name = 'lin2'").fetchone()[0] == 0
