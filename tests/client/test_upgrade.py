"""ALTER EXTENSION shopml UPDATE from the previous release keeps stored models loadable and
gives the same objects as a fresh install."""
from conftest import connect, recreate

OLD, NEW = "0.1.0", "0.2.0"

CATALOG = """
SELECT 'function' AS kind, p.oid::regprocedure::text AS name,
       md5(coalesce(p.prosrc, '') || p.prokind::text || p.provolatile::text || p.proparallel::text || coalesce(p.proacl::text, '')
           || coalesce(obj_description(p.oid, 'pg_proc'), '') || pg_get_function_result(p.oid)) AS digest
FROM pg_proc p WHERE p.pronamespace = 'shopml'::regnamespace
UNION ALL
SELECT 'relation', c.relname::text, md5(c.relkind::text || coalesce(c.relacl::text, '') || c.relrowsecurity::text
       || coalesce(obj_description(c.oid, 'pg_class'), '')
       || CASE WHEN c.relkind = 'v' THEN pg_get_viewdef(c.oid) ELSE '' END
       || coalesce(array_to_string(c.reloptions, ','), ''))
FROM pg_class c WHERE c.relnamespace = 'shopml'::regnamespace
UNION ALL
SELECT 'policy', tablename || '.' || policyname, md5(cmd::text || roles::text || coalesce(qual, '') || coalesce(with_check, ''))
FROM pg_policies WHERE schemaname = 'shopml'
ORDER BY 1, 2
"""


def test_update_keeps_models_and_matches_a_fresh_install():
    recreate("shopml_upgrade")
    recreate("shopml_fresh")
    with connect("shopml_upgrade") as c:
        c.execute(f"CREATE EXTENSION shopml VERSION '{OLD}'")
        assert c.execute("SELECT extversion FROM pg_extension WHERE extname = 'shopml'").fetchone()[0] == OLD
        c.execute("CREATE TABLE t AS SELECT i::float8 AS x, (3 * i + 1)::float8 AS y FROM generate_series(1, 200) i")
        c.execute("SELECT * FROM shopml.train_linear('old_model', 't', 'y')")
        before = c.execute("SELECT shopml.predict('old_model', ARRAY[10.0])").fetchone()[0]
        c.execute("ALTER EXTENSION shopml UPDATE")
        assert c.execute("SELECT extversion FROM pg_extension WHERE extname = 'shopml'").fetchone()[0] == NEW
    # A new session (the new library), the old model still predicts, and new features work.
    with connect("shopml_upgrade") as c:
        assert c.execute("SELECT shopml.predict('old_model', ARRAY[10.0])").fetchone()[0] == before
        assert abs(before - 31.0) < 1e-9
        assert c.execute("SELECT count(*) FROM shopml.coefficients('old_model')").fetchone()[0] == 2
        c.execute("CREATE TABLE clicks AS SELECT u, i FROM generate_series(1, 30) u, generate_series(1, 20) i WHERE (u + i) % 3 = 0")
        c.execute("SELECT * FROM shopml.train_recommender('new_recs', 'clicks', 'u', 'i', options => '{\"test_fraction\": 0}')")
        assert c.execute("SELECT count(*) FROM shopml.recommend_for_user('new_recs', 1, 3)").fetchone()[0] == 3
        assert c.execute("SELECT version FROM shopml.models WHERE model_name = 'old_model'").fetchone()[0] == 1
        upgraded = c.execute(CATALOG).fetchall()
    with connect("shopml_fresh") as c:
        c.execute("CREATE EXTENSION shopml")
        fresh = c.execute(CATALOG).fetchall()
    missing = sorted(set(fresh) - set(upgraded))
    extra = sorted(set(upgraded) - set(fresh))
    assert (missing, extra) == ([], []), f"update script differs from a fresh install: missing {missing}, extra {extra}"
    with connect("postgres") as c:
        c.execute("DROP DATABASE shopml_upgrade WITH (FORCE)")
        c.execute("DROP DATABASE shopml_fresh WITH (FORCE)")
