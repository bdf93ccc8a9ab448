"""Price experiments against a market simulated here, independently of shopml's simulator.

The market (known elasticities, Poisson units) lives in this file; shopml only sees what a shop
would give it: a demand model trained on two years of past sales, the products with their
prices and costs, and each period's sales. Regret is computed here from the true demand.
Also: determinism and idempotence under concurrent connections, and the in-database simulator
against the targets of the issue.
"""
import datetime
import math
import random
import threading

import pytest

from conftest import connect, sqlstate

N_PRODUCTS = 200
LADDER = [0.85, 0.90, 0.95, 1.0, 1.05, 1.10, 1.15]
START = "2020-01-01"


def poisson(rng, lam):
    """Knuth's multiplication method (lam is at most a few dozen here)."""
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


class Market:
    def __init__(self, seed):
        rng = random.Random(1000 + seed)
        self.seed = seed
        self.products = []
        for i in range(N_PRODUCTS):
            e = rng.uniform(-3.5, -1.2)
            base = rng.uniform(5, 40)
            p0 = round(rng.uniform(5, 50), 2)
            cost = round(p0 * rng.uniform(0.4, 0.7), 2)
            self.products.append(dict(id=i + 1, e=e, base=base, p0=p0, cost=cost))

    def mean_units(self, p, price):
        return p["base"] * (price / p["p0"]) ** p["e"]

    def profit(self, p, price):
        return (price - p["cost"]) * self.mean_units(p, price)

    def ladder(self, p):
        # Whole cents, halves away from zero (as shopml rounds the ladder).
        return [math.floor(f * p["p0"] / 0.01 + 0.5 + 1e-7) / 100 for f in LADDER]

    def oracle(self, p):
        return max(self.profit(p, q) for q in self.ladder(p))

    def units(self, p, price, period):
        rng = random.Random(hash((self.seed, p["id"], period)) & 0xFFFFFFFF)
        return poisson(rng, self.mean_units(p, price))

    def history(self, weeks=104):
        """Past weekly sales at varied prices (promotions and list-price changes)."""
        rng = random.Random(7 + self.seed)
        rows = []
        for p in self.products:
            for w in range(weeks):
                price = round(p["p0"] * rng.choice([0.8, 0.9, 1.0, 1.0, 1.0, 1.1, 1.2]), 2)
                rows.append((p["id"], w, price, poisson(rng, self.mean_units(p, price))))
        return rows


def setup_market(c, m, tag):
    c.execute(f"DROP TABLE IF EXISTS hist_{tag}, prod_{tag}, sales_{tag}")
    c.execute(f"CREATE TABLE hist_{tag} (product_id bigint, week int, price float8, units int)")
    with c.cursor().copy(f"COPY hist_{tag} FROM STDIN") as cp:
        for r in m.history():
            cp.write_row(r)
    c.execute(f"CREATE TABLE prod_{tag} (product_id bigint PRIMARY KEY, price numeric, unit_cost numeric)")
    with c.cursor().copy(f"COPY prod_{tag} FROM STDIN") as cp:
        for p in m.products:
            cp.write_row((p["id"], p["p0"], p["cost"]))
    c.execute(f"CREATE TABLE sales_{tag} (product_id bigint, day date, price float8, units int)")
    c.execute(f"SELECT shopml.train_demand('dm_{tag}', 'hist_{tag}', 'product_id', 'price', 'units')")


def run(c, m, tag, policy, prior_weight, periods):
    """Runs an experiment for `periods` days; returns per-period regret and profit and the
    number of prices that broke a rule."""
    name = f"x_{tag}_{policy}_{prior_weight}"
    c.execute("DELETE FROM shopml.price_experiment WHERE experiment_name = %s", (name,))
    c.execute(
        "SELECT shopml.create_price_experiment(%s, %s, %s, 'product_id', "
        "jsonb_build_object('start', %s::text, 'period', '1 day', 'policy', %s::text, "
        "'prior_weight', %s::float8, 'seed', %s::int, 'min_margin', 0.2))",
        (name, f"dm_{tag}", f"prod_{tag}", START, policy, prior_weight, m.seed))
    by_id = {p["id"]: p for p in m.products}
    regret, profit, oracle, violations = [], [], [], 0
    for t in range(periods):
        rows = c.execute(
            "SELECT product_id, price FROM shopml.next_prices(%s, %s::date + %s)",
            (name, START, t)).fetchall()
        assert len(rows) == N_PRODUCTS
        r = pr = o = 0.0
        sales = []
        for pid, price in rows:
            p = by_id[pid]
            allowed = [q for q in m.ladder(p) if q >= p["cost"] / 0.8 - 1e-9]
            if not any(abs(price - q) < 1e-9 for q in allowed):
                violations += 1
            best = max(m.profit(p, q) for q in allowed)
            r += best - m.profit(p, price)
            pr += m.profit(p, price)
            o += best
            sales.append((pid, t, price, m.units(p, price, t)))
        regret.append(r)
        profit.append(pr)
        oracle.append(o)
        c.execute(f"TRUNCATE sales_{tag}")
        day = (datetime.date.fromisoformat(START) + datetime.timedelta(days=t)).isoformat()
        with c.cursor().copy(f"COPY sales_{tag} (product_id, day, price, units) FROM STDIN") as cp:
            for pid, _, price, units in sales:
                cp.write_row((pid, day, price, units))
        got = c.execute(f"SELECT product_periods, off_policy FROM shopml.record_sales(%s, 'sales_{tag}', "
                        "'product_id', 'day', 'price', 'units')", (name,)).fetchone()
        assert got == (N_PRODUCTS, 0), got
    return regret, profit, oracle, violations


@pytest.fixture(scope="module")
def markets(db):
    out = []
    with connect() as c:
        c.execute("SET client_min_messages = warning")
        for seed in range(3):
            m = Market(seed)
            setup_market(c, m, f"s{seed}")
            out.append(m)
    return out


def test_thompson_against_greedy_ucb_and_a_flat_prior(markets):
    totals = {}
    with connect() as c:
        c.execute("SET client_min_messages = warning")
        for m in markets:
            tag = f"s{m.seed}"
            for policy, w in [("thompson", 1), ("thompson", 0), ("greedy", 0), ("ucb", 0)]:
                regret, profit, oracle, violations = run(c, m, tag, policy, w, 90)
                assert violations == 0
                key = (policy, w)
                totals[key] = totals.get(key, 0.0) + sum(regret)
                if key == ("thompson", 1):
                    share = sum(profit[-30:]) / sum(oracle[-30:])
                    assert share >= 0.95, share
    print({k: round(v) for k, v in totals.items()})
    # Every policy learning from the sales alone (flat prior): Thompson beats greedy pricing
    # and UCB; with the demand model's estimates as its prior it loses half as much again.
    assert totals[("thompson", 0)] <= 0.7 * totals[("greedy", 0)], totals
    assert totals[("thompson", 0)] <= 0.8 * totals[("ucb", 0)], totals
    assert totals[("thompson", 1)] <= 0.5 * totals[("thompson", 0)], totals


def test_it_keeps_learning(markets):
    m = markets[0]
    with connect() as c:
        c.execute("SET client_min_messages = warning")
        regret, profit, oracle, violations = run(c, m, "s0", "thompson", 0, 360)
    assert violations == 0
    assert sum(regret) <= 2.5 * sum(regret[:90]), (sum(regret), sum(regret[:90]))
    assert sum(profit[-30:]) / sum(oracle[-30:]) >= 0.97


def test_the_simulator_reaches_the_targets(db):
    with connect() as c:
        rows = c.execute("""
            SELECT policy, prior, sum(regret), sum(violations), sum(profit) FILTER (WHERE period >= 60)
                   / sum(oracle_profit) FILTER (WHERE period >= 60)
            FROM shopml.simulate_price_experiment('{"policies": ["thompson", "greedy", "ucb"]}')
            GROUP BY 1, 2""").fetchall()
    r = {(p, q): (reg, v, share) for p, q, reg, v, share in rows}
    assert all(v == 0 for _, v, _ in r.values())
    flat = lambda p: r[(p, "flat")][0]
    assert flat("thompson") <= 0.7 * flat("greedy")
    assert flat("thompson") <= 0.8 * flat("ucb")
    assert r[("thompson", "model")][0] <= 0.5 * flat("thompson")
    assert r[("thompson", "model")][2] >= 0.95


def test_concurrent_calls_agree_and_record_once(markets):
    m = markets[1]
    tag = f"s{m.seed}"
    name = "x_concurrent"
    with connect() as c:
        c.execute("SET client_min_messages = warning")
        c.execute("DELETE FROM shopml.price_experiment WHERE experiment_name = %s", (name,))
        c.execute(f"SELECT shopml.create_price_experiment(%s, 'dm_{tag}', 'prod_{tag}', 'product_id', "
                  "'{\"start\": \"2020-01-01\", \"period\": \"1 day\"}')", (name,))
    results, errors = [], []
    barrier = threading.Barrier(4)

    def serve():
        try:
            with connect() as c:
                barrier.wait()
                results.append(c.execute(
                    "SELECT product_id, price, propensity FROM shopml.next_prices(%s, '2020-01-05') "
                    "ORDER BY product_id", (name,)).fetchall())
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=serve) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert len(results) == 4 and all(r == results[0] for r in results)
    with connect() as c:
        assert c.execute("SELECT count(*) FROM shopml.price_experiment_served s JOIN shopml.price_experiment e "
                         "USING (experiment_id) WHERE e.experiment_name = %s", (name,)).fetchone()[0] == 1
        c.execute(f"TRUNCATE sales_{tag}")
        c.execute(f"INSERT INTO sales_{tag} SELECT product_id, '2020-01-05', price, 3 "
                  "FROM shopml.next_prices(%s, '2020-01-05')", (name,))
    recorded = []
    barrier = threading.Barrier(2)

    def record():
        with connect() as c:
            barrier.wait()
            recorded.append(c.execute(
                f"SELECT product_periods, already_recorded FROM shopml.record_sales(%s, 'sales_{tag}', "
                "'product_id', 'day', 'price', 'units')", (name,)).fetchone())

    threads = [threading.Thread(target=record) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(recorded) == [(0, N_PRODUCTS), (N_PRODUCTS, 0)], recorded
    with connect() as c:
        units = c.execute("SELECT sum(units) FROM shopml.experiment_status(%s)", (name,)).fetchone()[0]
        assert units == 3 * N_PRODUCTS
        # The posterior moved, but period 4's stored prices did not.
        again = c.execute("SELECT product_id, price, propensity FROM shopml.next_prices(%s, '2020-01-05') "
                          "ORDER BY product_id", (name,)).fetchall()
        assert again == results[0]
        # Stopped: no new period, and a clear error.
        c.execute("SELECT count(*) FROM shopml.stop_price_experiment(%s)", (name,))
        assert sqlstate(lambda: c.execute("SELECT * FROM shopml.next_prices(%s, '2020-01-06')", (name,))) == "22023"
