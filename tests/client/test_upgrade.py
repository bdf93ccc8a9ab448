"""ALTER EXTENSION shopml UPDATE from each earlier release keeps stored models loadable and gives
the same objects as a fresh install.

The stored models are the golden fixtures (crates/core/tests/fixtures/models): bytes that
shopml 0.1.0 (format 1) and 0.2.0 (formats 1 and 2) wrote, put into the catalog of the old
release, then served through SQL by the new one and compared with what the old code answered."""
import json
from pathlib import Path

import psycopg
import pytest

from conftest import connect, recreate

NEW = "0.3.0"
FIXTURES = Path(__file__).resolve().parents[2] / "crates" / "core" / "tests" / "fixtures" / "models"
# The model formats each release wrote.
WROTE = {"0.1.0": {1}, "0.2.0": {1, 2}}
TASKS = {"linear": "regression", "logistic": "classification", "random_forest": "classification",
         "kmeans": "segmentation", "recommender": "recommendation", "demand": "demand"}

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


def fixtures(formats):
    out = []
    for b in sorted(FIXTURES.glob("*.bin")):
        meta = json.loads(b.with_suffix(".json").read_text())
        # Kinds added after the releases (boosted_trees, 0.3.0) have no bytes an old release wrote.
        if meta["format_version"] in formats and meta["algorithm"] in TASKS:
            out.append((b.stem.replace("-", "_"), b.read_bytes(), meta))
    return out


def store(c, name, data, meta):
    """Puts fixture bytes into the old release's catalog as version 1 of `name`, deployed."""
    model_id = c.execute(
        "INSERT INTO shopml.model (model_name, version, algorithm, task, source, features, model_bytes) "
        "VALUES (%s, 1, %s, %s, 'fixture', %s, %s) RETURNING model_id",
        (name, meta["algorithm"], TASKS[meta["algorithm"]], meta["model"].get("input_columns"), data)).fetchone()[0]
    c.execute("INSERT INTO shopml.deployment (model_name, model_id) VALUES (%s, %s)", (name, model_id))


def close(got, want, what):
    assert got is not None and abs(got - want) <= 1e-9 * max(1.0, abs(want)), f"{what}: got {got}, want {want}"


def row_select(meta, case):
    """A one-row SELECT with the model's input columns (and group column) holding the case's cells."""
    columns = list(meta["model"]["input_columns"])
    values = list(case["input"])
    if "group" in case:
        columns.append(meta["model"]["group_by"])
        values.append(case["group"])
    # A column's type is that of its non-NULL values in any case.
    kinds = {}
    for c in meta["cases"]:
        for col, v in zip(columns, c["input"] + ([c.get("group")] if "group" in c else [])):
            if v is not None:
                kinds[col] = "text" if isinstance(v, str) else "float8"
    parts = [f"%s::{kinds.get(col, 'float8')} AS \"{col}\"" for col in columns]
    return "SELECT " + ", ".join(parts), values


def check(c, name, meta):
    alg = meta["algorithm"]
    for i, case in enumerate(meta["cases"]):
        what = f"{name} case {i}"
        if alg == "recommender":
            if case["function"] == "recommend_for_user":
                rows = c.execute("SELECT item_id, score FROM shopml.recommend_for_user(%s, %s, %s, %s)",
                                 (name, case["user"], case["k"], case["exclude_seen"])).fetchall()
            else:
                rows = c.execute("SELECT item_id, score FROM shopml.similar_items(%s, %s, %s)",
                                 (name, case["item"], case["k"])).fetchall()
            assert [r[0] for r in rows] == [e["item"] for e in case["expected"]], what
            for (_, s), e in zip(rows, case["expected"]):
                close(s, e["score"], what)
        elif alg == "demand":
            if case["function"] == "demand_elasticities":
                e = c.execute("SELECT elasticity, std_error, shrunk FROM shopml.demand_elasticities(%s) WHERE product_id = %s",
                              (name, str(case["product"]))).fetchone()
                close(e[0], case["elasticity"], what)
                close(e[1], case["std_error"], what)
                assert e[2] == case["shrunk"], what
            else:
                at = json.dumps({"at": case["at"]}) if case["at"] else "{}"
                q = c.execute("SELECT expected_quantity FROM shopml.price_curve(%s, %s, NULL, %s, %s, 2, %s) LIMIT 1",
                              (name, case["product"], case["price"], case["price"] * 2, at)).fetchone()[0]
                close(q, case["expected_quantity"], what)
        else:
            select, values = row_select(meta, case)
            for fn, key in (("predict", "predict"), ("predict_proba", "predict_proba"), ("predict_label", "predict_label")):
                if key not in case or case[key] is None:
                    continue
                got = c.execute(f"SELECT shopml.{fn}(%s, r) FROM ({select}) r", [name] + values).fetchone()[0]
                if isinstance(case[key], str):
                    assert got == case[key], f"{what} {fn}: {got} != {case[key]}"
                else:
                    close(got, case[key], f"{what} {fn}")


@pytest.mark.parametrize("old", sorted(WROTE))
def test_update_keeps_models_and_matches_a_fresh_install(old):
    recreate("shopml_upgrade")
    recreate("shopml_fresh")
    stored = fixtures(WROTE[old])
    assert stored, "no fixtures"
    with connect("shopml_upgrade") as c:
        c.execute(f"CREATE EXTENSION shopml VERSION '{old}'")
        assert c.execute("SELECT extversion FROM pg_extension WHERE extname = 'shopml'").fetchone()[0] == old
        for name, data, meta in stored:
            store(c, name, data, meta)
        if old == "0.2.0":
            # The old script loads against the new library; a function 0.3.0 retired says so.
            with pytest.raises(psycopg.errors.FeatureNotSupported, match="retired") as e:
                with c.transaction():
                    c.execute("SELECT * FROM shopml._sample_ads(1)")
            assert e.value.diag.message_hint == "Run ALTER EXTENSION shopml UPDATE."
        c.execute("ALTER EXTENSION shopml UPDATE")
        assert c.execute("SELECT extversion FROM pg_extension WHERE extname = 'shopml'").fetchone()[0] == NEW
    # A new session (the new library): every stored model answers as the release that wrote it.
    with connect("shopml_upgrade") as c:
        for name, _, meta in stored:
            check(c, name, meta)
        # New versions continue after the stored ones, and new features work.
        c.execute("CREATE TABLE t AS SELECT i::float8 AS x, (3 * i + 1)::float8 AS y FROM generate_series(1, 200) i")
        name = stored[0][0]
        assert c.execute("SELECT version FROM shopml.train_linear(%s, 't', 'y', options => '{\"deploy\": false}')",
                         (name,)).fetchone()[0] == 2
        c.execute("CREATE TABLE clicks AS SELECT u, i FROM generate_series(1, 30) u, generate_series(1, 20) i WHERE (u + i) % 3 = 0")
        c.execute("SELECT * FROM shopml.train_recommender('new_recs', 'clicks', 'u', 'i', options => '{\"test_fraction\": 0}')")
        assert c.execute("SELECT count(*) FROM shopml.recommend_for_user('new_recs', 1, 3)").fetchone()[0] == 3
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
