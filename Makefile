# Two commands on a fresh machine: `make run` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
DB ?= var/centre.db
PORT ?= 8000

.PHONY: run test check install browser clean hub

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e '.[dev]'
	touch $@

install: $(VENV)/.installed

# Debian's Chromium for the browser tests (Playwright drives it; it never downloads its own).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
	  else sudo apt-get update -q && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; fi; }

run: install
	$(VENV)/bin/linli demo --db $(DB)
	$(VENV)/bin/linli serve --role centre --db $(DB) --port $(PORT)

hub: install
	$(VENV)/bin/linli serve --role hub --db var/hub.db --port 8100

test: install browser
	$(VENV)/bin/pytest -q

check: install
	$(VENV)/bin/ruff format --check edge sync tests bench
	$(VENV)/bin/ruff check edge sync tests bench
	$(VENV)/bin/mypy edge sync

clean:
	rm -rf $(VENV) var
