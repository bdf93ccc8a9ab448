# shopml — two commands on a fresh Debian 12 machine:
#   make demo   installs everything, loads the sample shop, trains and prints results
#   make test   the same set-up, then every test (crates/core unit tests, pgrx tests, SQL regression)
# make test PG=16 / PG=18: shopml built for that PostgreSQL (scripts/bootstrap-pg fetches it) and
# the SQL regression suite run on a cluster of it. PG=15, the default, is the system's.

SHELL := /bin/bash
export PATH := $(HOME)/.cargo/bin:$(PATH)
PG ?= 15
ifeq ($(PG),15)
PORT ?= 5499
PG_BIN := /usr/lib/postgresql/15/bin
BOOTSTRAP := SHOPML_PORT=$(PORT) scripts/bootstrap
TESTS := test-core test-sql test-client test-pgrx
REGRESS_OUT := target/regress
else
PORT ?= 55$(PG)
PG_BIN = $(shell dirname $$(sed -n 's/^pg$(PG) = "\(.*\)"$$/\1/p' $(HOME)/.pgrx/config.toml))
BOOTSTRAP := scripts/bootstrap-pg $(PG) $(PORT)
TESTS := test-sql
REGRESS_OUT := target/regress-pg$(PG)
endif
PSQL := psql -X -q -h localhost -p $(PORT) -U postgres -v ON_ERROR_STOP=1
PG_REGRESS = $(shell dirname $$($(PG_BIN)/pg_config --pgxs))/../test/regress/pg_regress
REGRESS := $(shell sed -n 's/^test: //p' tests/schedule)
PGRX_PGDATA := /var/lib/postgresql/shopml-pgrx-test

.PHONY: demo test bench bootstrap test-core test-pgrx test-sql test-client lint upgrade-script

bootstrap:
	$(BOOTSTRAP)

demo: bootstrap
	$(PSQL) -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS shopml_demo" -c "CREATE DATABASE shopml_demo"
	$(PSQL) -d shopml_demo -f scripts/demo.sql

test: bootstrap
	$(MAKE) --no-print-directory PG=$(PG) PORT=$(PORT) $(TESTS)
	@echo "all shopml tests passed on PostgreSQL $(PG)"

test-core:
	cargo test -p shopml-core --release

test-sql:
	@mkdir -p $(REGRESS_OUT)
	$(PG_REGRESS) --bindir=$(PG_BIN) --host=localhost --port=$(PORT) --user=postgres \
	  --dbname=shopml_regress --inputdir=tests --outputdir=$(REGRESS_OUT) \
	  --schedule=tests/schedule || { cat $(REGRESS_OUT)/regression.diffs; exit 1; }

# Several connections, SQLAlchemy, pg_cron and ALTER EXTENSION UPDATE (Python, pytest -v).
test-client:
	SHOPML_PORT=$(PORT) python3 -m pytest -v -p no:cacheprovider tests/client

# The update script from the last release (commit it; tests/client/test_upgrade.py checks it).
# 0.1.0 updates through 0.2.0; the 0.1.0 -> 0.2.0 script is never edited again.
upgrade-script:
	cargo pgrx schema pg15 --out target/shopml-schema.sql
	scripts/make-upgrade 0.2.0 $$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1) target/shopml-schema.sql

# pgrx's own harness builds a pg_test variant and runs it in a throw-away cluster it starts as
# the postgres user; reinstall the release build afterwards so the SQL tests and the demo use it.
test-pgrx:
	install -d -o postgres -g postgres $(PGRX_PGDATA)
	cargo pgrx test pg15 --runas postgres --pgdata $(PGRX_PGDATA)
	SHOPML_PORT=$(PORT) scripts/bootstrap >/dev/null

bench: bootstrap
	$(PSQL) -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS shopml_bench" -c "CREATE DATABASE shopml_bench"
	benches/linear.sh $(PORT)
	benches/recommend.sh $(PORT)
	benches/pricing.sh $(PORT)
	benches/classify.sh $(PORT)
	benches/experiment.sh $(PORT)
	python3 benches/boosted.py $(PORT) --small
	python3 benches/scoring.py $(PORT) --small
	python3 benches/cpu_ratios.py $(PORT)
	cargo bench -p shopml-core --bench core

lint:
	cargo fmt --all -- --check
	cargo clippy --all-targets -- -D warnings
