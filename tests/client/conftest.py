"""Client tests: several connections, real client libraries, pg_cron, upgrades.

They run against the cluster `make test` starts (port $SHOPML_PORT, default 5499), in the
database `shopml_client` (pg_cron's cron.database_name). That database is emptied, not dropped,
between runs: pg_cron's scheduler stops for good when its database is dropped under it.
"""
import os

import psycopg
import pytest

PORT = int(os.environ.get("SHOPML_PORT", "5499"))
DB = "shopml_client"


def connect(dbname=DB, **kw):
    return psycopg.connect(host="localhost", port=PORT, user="postgres", dbname=dbname,
                           autocommit=True, **kw)


def recreate(dbname):
    with connect("postgres") as c:
        c.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        c.execute(f'CREATE DATABASE "{dbname}"')


@pytest.fixture(scope="session")
def db():
    with connect("postgres") as c:
        if not c.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB,)).fetchone():
            c.execute(f'CREATE DATABASE "{DB}"')
    with connect() as c:
        c.execute("SET client_min_messages = warning")
        if c.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_cron'").fetchone():
            c.execute("SELECT cron.unschedule(jobid) FROM cron.job")
        c.execute("DROP EXTENSION IF EXISTS shopml CASCADE")
        c.execute("DROP SCHEMA IF EXISTS shop CASCADE")
        c.execute("DROP SCHEMA public CASCADE")
        c.execute("CREATE SCHEMA public")
        c.execute("CREATE EXTENSION shopml")
        c.execute("SELECT shopml.load_sample_shop('shop', 42)")
        c.execute("""CREATE VIEW shop.purchases AS
                     SELECT o.customer_id, i.product_id, o.order_date
                     FROM shop.order_items i JOIN shop.orders o USING (order_id)""")
    return DB


def sqlstate(fn):
    """Runs fn(); returns the SQLSTATE of the error it raised (None when it did not)."""
    try:
        fn()
    except psycopg.Error as e:
        return e.sqlstate
    return None
