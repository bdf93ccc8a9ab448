"""Throw-away PostgreSQL 15 clusters on this machine for the scaling-out tests: a primary and
its hot standby, shard servers. Each runs as the postgres user (PostgreSQL refuses root) on a
localhost port, in its own data directory under /var/lib/postgresql/shopml-clusters, and is
stopped and removed by `stop()` (the tests' fixtures call it at the end)."""
import os
import shutil
import subprocess
import time

import psycopg

PG_BIN = os.environ.get("SHOPML_PG_BIN", "/usr/lib/postgresql/15/bin")
ROOT = "/var/lib/postgresql/shopml-clusters"

CONF = """port = {port}
listen_addresses = 'localhost'
unix_socket_directories = '/tmp'
shared_buffers = '256MB'
max_parallel_workers_per_gather = 2
fsync = off
full_page_writes = off
hot_standby = on
wal_level = replica
max_wal_senders = 4
"""
HBA = """local all all trust
host  all all 127.0.0.1/32 trust
host  all all ::1/128 trust
host  replication all 127.0.0.1/32 trust
host  replication all ::1/128 trust
"""


def as_postgres(*args, **kw):
    return subprocess.run(["sudo", "-u", "postgres", *args], check=True, capture_output=True,
                          text=True, **kw)


class Cluster:
    def __init__(self, name, port):
        self.name, self.port = name, port
        self.data = f"{ROOT}/{name}"

    def connect(self, dbname="postgres", **kw):
        return psycopg.connect(host="localhost", port=self.port, user="postgres",
                               dbname=dbname, autocommit=True, **kw)

    def _write_conf(self, extra=""):
        for fname, text in (("postgresql.conf", CONF.format(port=self.port) + extra),
                            ("pg_hba.conf", HBA), ("pg_ident.conf", "")):
            as_postgres("tee", f"{self.data}/{fname}", input=text)

    def _fresh_dir(self):
        self.stop()
        subprocess.run(["install", "-d", "-o", "postgres", "-g", "postgres", ROOT], check=True)
        shutil.rmtree(self.data, ignore_errors=True)

    def init(self, extra_conf=""):
        """A new, empty cluster (initdb), started."""
        self._fresh_dir()
        as_postgres(f"{PG_BIN}/initdb", "-D", self.data, "-U", "postgres", "-A", "trust",
                    "-E", "UTF8", "--locale=C.UTF-8")
        self._write_conf(extra_conf)
        return self.start()

    def standby_of(self, primary):
        """A hot standby streaming from `primary` (pg_basebackup -R), started."""
        self._fresh_dir()
        as_postgres(f"{PG_BIN}/pg_basebackup", "-h", "localhost", "-p", str(primary.port),
                    "-U", "postgres", "-D", self.data, "-R", "-X", "stream", "-c", "fast")
        self._write_conf()
        return self.start()

    def start(self):
        as_postgres(f"{PG_BIN}/pg_ctl", "-D", self.data, "-l", f"{self.data}/server.log",
                    "-w", "start")
        for _ in range(100):
            try:
                with self.connect() as c:
                    c.execute("SELECT 1")
                return self
            except psycopg.OperationalError:
                time.sleep(0.1)
        raise RuntimeError(f"cluster {self.name} did not start")

    def stop(self):
        if os.path.exists(f"{self.data}/postmaster.pid"):
            subprocess.run(["sudo", "-u", "postgres", f"{PG_BIN}/pg_ctl", "-D", self.data,
                            "-m", "immediate", "-w", "stop"], capture_output=True)

    def remove(self):
        self.stop()
        shutil.rmtree(self.data, ignore_errors=True)


def shop_with_models(cluster, dbname):
    """Creates `dbname` with the sample shop and a model of each serving kind: 'lin' (y = 2x),
    'ctr' (logistic), 'recs' (recommender) and 'prices' (demand)."""
    with cluster.connect() as c:
        c.execute(f"CREATE DATABASE {dbname}")
    with cluster.connect(dbname) as c:
        c.execute("SET client_min_messages = warning")
        c.execute("CREATE EXTENSION shopml")
        c.execute("SELECT shopml.load_sample_shop('shop', 42)")
        c.execute("CREATE TABLE lin AS SELECT i::float8 AS x, 2 * i::float8 AS y FROM generate_series(1, 100) i")
        c.execute("SELECT * FROM shopml.train_linear('lin', 'lin', 'y', ARRAY['x'], '{\"test_fraction\": 0}')")
        c.execute("""CREATE VIEW shop.ad_training AS
                     SELECT i.affinity, i.position::float8 AS position, i.is_mobile::float8 AS is_mobile,
                            a.quality, i.clicked
                     FROM shop.impressions i JOIN shop.ads a USING (ad_id)""")
        c.execute("SELECT * FROM shopml.train_logistic('ctr', 'shop.ad_training', 'clicked')")
        c.execute("""CREATE VIEW shop.purchases AS SELECT o.customer_id, i.product_id
                     FROM shop.order_items i JOIN shop.orders o USING (order_id)""")
        c.execute("""SELECT * FROM shopml.train_recommender('recs', 'shop.purchases', 'customer_id', 'product_id',
                     options => '{"iterations": 5, "seed": 1}')""")
        c.execute("""CREATE VIEW shop.sales AS SELECT product_id, price, units, promo
                     FROM shop.weekly_sales""")
        c.execute("SELECT * FROM shopml.train_demand('prices', 'shop.sales', 'product_id', 'price', 'units', ARRAY['promo'])")
