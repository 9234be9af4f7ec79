# Two commands on a fresh machine: `make run` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
UV := $(VENV)/bin/uv
DB ?= var/centre.db
PORT ?= 8000

.PHONY: run test suite check install browser postgres clean hub lock wheel bundle

# Exact versions with hashes from requirements/dev.txt (the lock; `make lock` refreshes it),
# then linli itself, editable, built with the locked hatchling. pip installs only uv (its
# pin and hashes cut from the lock); uv installs the rest, checking every hash as pip
# would (--require-hashes), downloading in parallel: a fresh install in seconds, not a minute.
$(VENV)/.installed: pyproject.toml uv.lock requirements/dev.txt
	python3 -m venv $(VENV)
	sed -n '/^uv==/,/[^\\]$$/p' requirements/dev.txt >$(VENV)/uv-requirement.txt
	$(PIP) install -q --disable-pip-version-check --require-hashes -r $(VENV)/uv-requirement.txt
	$(UV) pip install -q --python $(PY) --require-hashes --compile-bytecode -r requirements/dev.txt
	$(UV) pip install -q --python $(PY) --no-deps --no-build-isolation -e .
	touch $@

install: $(VENV)/.installed

# Debian's Chromium for the browser tests (Playwright drives it; it never downloads its own).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
	  else sudo apt-get update -q && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; fi; }

# Debian's PostgreSQL for the hub's tests on PostgreSQL (tests/pg_server.py starts its own
# server with initdb/pg_ctl in a temp folder). Debian keeps the programs in
# /usr/lib/postgresql/N/bin, off PATH: found there too.
postgres:
	@command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql; \
	  else sudo apt-get update -q && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql; fi; }

run: install
	$(VENV)/bin/linli demo --db $(DB)
	$(VENV)/bin/linli serve --role centre --db $(DB) --port $(PORT)

hub: install
	$(VENV)/bin/linli serve --role hub --db var/hub.db --port 8100

# Compiled bytecode first: with PYTHONDONTWRITEBYTECODE set (as on the CI machine) every
# process the tests start (each `linli serve`, each xdist worker) would compile all it
# imports again; compileall writes the .pyc files whatever that variable says.
# Four workers on two cores: a test waiting on a server, a browser or a socket leaves its
# core to another (the same tree: -n 2 5:57, -n 3 5:22, -n 4 4:58).
# PYTHONDONTWRITEBYTECODE emptied for pytest: its assertion rewriting caches each rewritten
# test module in __pycache__ only when bytecode may be written; without the cache every
# worker rewrote all 2,000 tests' modules again (10 s of CPU each, 4 s with it).
# The tests' temporary files (their SQLite files, the PostgreSQL cluster, the installed
# box, Chromium's profiles) go to /dev/shm when it is a tmpfs with 4 GB free that may run
# programs: every SQLite commit's fsync on this machine's shared disk was a wait (the hub
# tests but the browser's, -n 2: 84 s on the disk, 58 s there). `make test TEST_TMPDIR=`
# keeps the system's temporary folder. pyproject's tmp_path_retention_policy = "failed"
# removes a passing test's folder as it ends.
TEST_TMPDIR ?= $(shell findmnt -no FSTYPE,OPTIONS /dev/shm 2>/dev/null | grep '^tmpfs' \
  | grep -qv noexec && df -k --output=avail /dev/shm \
  | awk 'NR == 2 && $$1 >= 4000000 {print "/dev/shm"}')
# The checks (ruff, mypy, the import contracts: 10 s) run beside the suite, on the CPU its
# waiting tests leave (the two cores were 150 % busy); their lines and the suite's
# interleave whole (--output-sync=line), and either one failing fails `make test`.
test: install browser postgres
	$(MAKE) --no-print-directory -j 2 --output-sync=line check suite

# One collection first fills pytest's cache of rewritten test modules: on a fresh clone the
# four workers each rewrote every module at once (10 s of CPU each; 3 s from the cache).
suite: install browser postgres
	$(PY) -m compileall -q edge sync hub
	PYTHONDONTWRITEBYTECODE= $(VENV)/bin/pytest -q --collect-only >/dev/null
	$(if $(TEST_TMPDIR),TMPDIR=$(TEST_TMPDIR) )PYTHONDONTWRITEBYTECODE= $(VENV)/bin/pytest -q -n 4

check: install
	$(VENV)/bin/ruff format --check edge sync hub tests bench
	$(VENV)/bin/ruff check edge sync hub tests bench
	$(VENV)/bin/mypy edge sync hub
	$(VENV)/bin/lint-imports

# Refresh the lock: `uv lock` resolves pyproject.toml's bounds for Python 3.11 on any
# platform (uv.lock); the installs read the same versions, with hashes, from the files
# `uv export` makes of it: requirements/box.txt (the box), requirements/dev.txt (tests) and
# requirements/hub-pg.txt (a hub on PostgreSQL: the box's set plus psycopg and its pool).
# `make test` then checks the refresh (tests/box/test_lock.py holds the three together).
lock: install
	$(VENV)/bin/uv lock --upgrade --python 3.11
	$(VENV)/bin/uv export --frozen --no-emit-project -q -o requirements/box.txt
	$(VENV)/bin/uv export --frozen --no-emit-project --extra dev -q -o requirements/dev.txt
	$(VENV)/bin/uv export --frozen --no-emit-project --extra hub-pg -q -o requirements/hub-pg.txt
	rm -f $(VENV)/.installed

# The wheel a box installs (templates, static files and compiled catalogs inside).
wheel: install
	rm -rf dist/wheel
	$(PIP) wheel -q --no-deps --no-build-isolation -w dist/wheel .

# The offline bundle a centre box installs from: wheels for amd64 and arm64 (Python 3.11),
# the linli wheel and the installer, in dist/. See deploy/make-bundle.sh.
bundle: wheel
	bash deploy/make-bundle.sh

clean:
	rm -rf $(VENV) var
