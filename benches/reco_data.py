#!/usr/bin/env python3
"""Interaction data for the ALS reference, as CSV `user_id,item_id,ts` (one row per interaction).

  reco_data.py OUT.csv              MovieLens 100k (GroupLens; 100,000 ratings, 943 users,
                                    1,682 movies, unix timestamps), taken from the PyPI wheel
                                    recbole==1.2.1, file recbole/dataset_example/ml-100k/ml-100k.inter.
                                    Every rating counts as one interaction; the rating value is dropped.
  reco_data.py --synthetic OUT.csv  1M synthetic interactions, 50k users x 20k items, Zipf item
                                    popularity, fixed seed (for speed only).

The wheel is fetched once with `pip download --no-deps` (no install, no dependencies) into
$SHOPML_CACHE (default /var/cache/shopml) and checked against its sha256.
"""
import hashlib
import os
import subprocess
import sys
import zipfile

import numpy as np

PKG, VER = "recbole", "1.2.1"
WHEEL = f"{PKG}-{VER}-py3-none-any.whl"
WHEEL_SHA256 = "9c9948202011f37eb0a7c6768129313f00d6403ad221ec940d5e2d5d5f33a407"
MEMBER = "recbole/dataset_example/ml-100k/ml-100k.inter"
CACHE = os.environ.get("SHOPML_CACHE", "/var/cache/shopml")


def movielens_100k():
    """(n, 3) int64 array of user_id, item_id, ts."""
    wheel = os.path.join(CACHE, WHEEL)
    if not os.path.exists(wheel):
        os.makedirs(CACHE, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                        "--only-binary", ":all:", f"{PKG}=={VER}", "-d", CACHE], check=True)
    with open(wheel, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    if digest != WHEEL_SHA256:
        sys.exit(f"{wheel}: sha256 {digest} != {WHEEL_SHA256}")
    with zipfile.ZipFile(wheel) as z:
        lines = z.read(MEMBER).decode().splitlines()
    # header: user_id:token item_id:token rating:float timestamp:float (tab-separated)
    rows = [line.split("\t") for line in lines[1:] if line]
    return np.array([(int(u), int(i), int(t)) for u, i, _rating, t in rows], dtype=np.int64)


def synthetic(n=1_000_000, users=50_000, items=20_000, exponent=1.0, seed=42):
    """(n, 3) int64 array: users uniform, item i (0-based) drawn with p ~ 1/(i+1)^exponent."""
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, items + 1) ** exponent
    u = rng.integers(0, users, n)
    i = rng.choice(items, size=n, p=p / p.sum())
    return np.column_stack([u, i, np.arange(n)]).astype(np.int64)


def main():
    args = sys.argv[1:]
    if len(args) not in (1, 2) or (len(args) == 2 and args[0] != "--synthetic"):
        sys.exit(__doc__)
    data = synthetic() if len(args) == 2 else movielens_100k()
    data = data[np.lexsort((data[:, 1], data[:, 2], data[:, 0]))]  # by user, ts, item
    np.savetxt(args[-1], data, fmt="%d", delimiter=",", header="user_id,item_id,ts", comments="")
    pairs = len(np.unique(data[:, 0] * (data[:, 1].max() + 1) + data[:, 1]))
    print(f"wrote {args[-1]}: rows={len(data)} users={len(np.unique(data[:, 0]))} "
          f"items={len(np.unique(data[:, 1]))} distinct_pairs={pairs}")


if __name__ == "__main__":
    main()
