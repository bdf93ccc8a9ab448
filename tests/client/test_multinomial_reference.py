"""Multinomial logistic regression against scikit-learn's LogisticRegression (pinned in
scripts/bootstrap): the same L2-penalised softmax objective (C = 1/l2, intercepts unpenalised)
on the same design matrix, both solved to a tight tolerance, so every class probability of
every row must agree to 1e-4.

shopml standardises numbers in its stored preparation (population moments of the training
rows); scikit-learn is given the same z-scores, computed here from the centre and scale the
model stores (params.preparation), so both minimise one objective. Data: scikit-learn's iris
(150 rows, 4 features, 3 classes), wine (178 rows, 13 features, 3 classes) and digits (1,797
rows, 64 pixel features of which some are constant, 10 classes), each with two penalties."""
import json

import numpy as np
import pytest

pytest.importorskip("sklearn", reason="scikit-learn is not installed (scripts/bootstrap pins it)")

from conftest import connect  # noqa: E402


def load(name):
    from sklearn import datasets
    return {"iris": datasets.load_iris, "wine": datasets.load_wine,
            "digits": datasets.load_digits}[name](return_X_y=True)


@pytest.mark.parametrize("name,l2", [("iris", 1.0), ("iris", 0.01), ("wine", 1.0), ("wine", 0.1),
                                     ("digits", 1.0), ("digits", 10.0)])
def test_class_probabilities_match_scikit_learn(db, name, l2):
    from sklearn.linear_model import LogisticRegression

    x, y = load(name)
    p = x.shape[1]
    table = f"mn_{name}"
    cols = [f"f{j}" for j in range(p)]
    with connect(db) as c:
        c.execute(f"DROP TABLE IF EXISTS {table}")
        c.execute(f"CREATE TABLE {table} (id int, {', '.join(f'{f} float8' for f in cols)}, label text)")
        with c.cursor().copy(f"COPY {table} FROM STDIN") as cp:
            for i, (row, label) in enumerate(zip(x, y)):
                cp.write_row([i, *map(float, row), f"class_{label:02d}"])
        model = f"mn_{name}_{str(l2).replace('.', '_')}"
        metrics = c.execute(
            "SELECT metrics FROM shopml.train_logistic(%s, %s::regclass, 'label', %s::text[], %s::jsonb)",
            (model, table, cols, json.dumps({"test_fraction": 0, "l2": l2, "max_iter": 200}))).fetchone()[0]
        assert metrics["converged"] and metrics["classes"] == len(set(y))
        prep = c.execute("SELECT params->'preparation' FROM shopml.models WHERE model_name = %s AND deployed",
                         (model,)).fetchone()[0]
        center = np.array([i["center"] for i in prep["inputs"]])
        scale = np.array([i["scale"] for i in prep["inputs"]])
        rows = c.execute(
            f"SELECT t.id, k.label, k.probability FROM {table} t, shopml.predict_classes(%s, t) k ORDER BY t.id, k.label",
            (model,)).fetchall()
    k = len(set(y))
    ours = np.array([r[2] for r in rows]).reshape(len(y), k)
    z = (x - center) / scale
    ref = LogisticRegression(C=1.0 / l2, tol=1e-12, max_iter=100_000).fit(z, y).predict_proba(z)
    diff = float(np.abs(ours - ref).max())
    print(f"{name} l2={l2}: {k} classes, {metrics['iterations']} Newton iterations, "
          f"max |p - p_sklearn| = {diff:.2e}")
    assert diff <= 1e-4
