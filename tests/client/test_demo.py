"""The demo script runs start to end without an error, in one session: it trains every kind of
model and then scores with them by row, which is where a session-state bug once showed
("tupdesc reference ... is not owned by resource owner Portal", only after trainings in the
same session)."""
import os
import pathlib
import re
import subprocess

from conftest import PORT, connect, recreate

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_demo_runs_clean():
    recreate("shopml_demo_test")
    out = subprocess.run(
        ["psql", "-X", "-h", "localhost", "-p", str(PORT), "-U", "postgres", "-d", "shopml_demo_test",
         "-v", "ON_ERROR_STOP=1", "-f", str(ROOT / "scripts" / "demo.sql")],
        capture_output=True, text=True, env={**os.environ, "PGOPTIONS": "-c client_min_messages=warning"})
    assert out.returncode == 0, out.stderr[-2000:]
    assert "ERROR" not in out.stderr, out.stderr[-2000:]
    # The last scoring section printed five customers with a churn probability.
    section = out.stdout.split("Customers most at risk today")[1].split("== 10.")[0]
    rows = [l for l in section.splitlines() if re.search(r"\|\s+[01]\.\d{3}$", l)]
    assert len(rows) == 5, section
    with connect("postgres") as c:
        c.execute("DROP DATABASE shopml_demo_test WITH (FORCE)")
