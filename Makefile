# The two commands of the README:
#   make run    set up (venv, requirements, verified MNIST) and start the dashboard
#   make test   the same set-up plus dev tools and a browser, then lint and the whole test suite
#   make classroom WORKERS=2 HOST=my-box.lan PORT=8080   a class: N workers behind HAProxy
#   RAY=auto (or HEAD:6379) on either: runs train on that Ray cluster (docs/ray.md)
# Each step is skipped when it is already done, so a second `make run` starts in seconds.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8501
DEPS_STAMP := $(VENV)/.deps-installed
DEV_STAMP := $(VENV)/.dev-installed
# The classroom (README, "Classroom"). HOST is where students browse to; plain `=`, not `?=`,
# so a shell's own $HOST (tcsh, zsh) never picks it: give it on the command line.
WORKERS ?= 2
HOST = localhost
ALLOWED_HOSTS =
RUNS_PER_STUDENT ?= 1
TEACHER_TOKEN ?=
# A Ray cluster to train on (docs/ray.md); empty: this machine's queue, and Ray is not installed.
RAY ?=
RAY_STAMP := $(VENV)/.ray-installed

.PHONY: run test setup dev data browser proxy ray classroom lint pytest screenshots clean-venv messages

run: setup data $(if $(RAY),ray)
	$(if $(RAY),CNN_RAY_ADDRESS=$(RAY) )$(PY) -m streamlit run dashboard/Home.py --server.port $(PORT)

ray: $(RAY_STAMP)

$(RAY_STAMP): $(DEPS_STAMP)
	$(PY) -m pip install --disable-pip-version-check -q "ray>=2.9"
	@touch $@

test: setup dev data browser proxy lint pytest

setup: $(DEPS_STAMP)

$(DEPS_STAMP): requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.txt -e .
	@touch $@

dev: $(DEV_STAMP)

$(DEV_STAMP): $(DEPS_STAMP) requirements-dev.txt
	$(PY) -m pip install --disable-pip-version-check -q -r requirements-dev.txt
	@touch $@

# The message catalogues brought up to the source (docs/languages.md): new text added untranslated
# (tests/test_catalogue.py then names it), text the source no longer has dropped.
messages: setup
	$(PY) -m core.i18n

# Fast when the files are already there: only their sizes and MD5s are checked.
data: setup
	$(PY) -m core.model.mnist fetch

# Debian's Chromium where it can be installed (root + apt-get); otherwise Playwright's own.
browser: dev
	@if [ -x /usr/bin/chromium ] || [ -n "$$CHROMIUM_PATH" ]; then \
		echo "browser: using $${CHROMIUM_PATH:-/usr/bin/chromium}"; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
	else \
		$(PY) -m playwright install chromium; \
	fi

# HAProxy for the classroom: Debian's package where it can be installed (root + apt-get).
# Debian puts it in /usr/sbin, which is not on an ordinary user's PATH.
proxy:
	@if command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ]; then \
		echo "proxy: using $$(command -v haproxy || echo /usr/sbin/haproxy)"; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q haproxy; \
	else \
		echo "proxy: HAProxy is missing: sudo apt-get install haproxy (Debian/Ubuntu)," \
			"or your system's haproxy package" >&2; \
		exit 1; \
	fi

# The token goes to the launcher in its environment, not on a command line `ps` shows;
# empty: the launcher makes one up and prints it.
classroom: export CNN_TEACHER_TOKEN := $(or $(TEACHER_TOKEN),$(CNN_TEACHER_TOKEN))
classroom: setup data proxy $(if $(RAY),ray)
	$(PY) -m classroom --workers $(WORKERS) --host $(HOST) --port $(PORT) $(if $(RAY),--ray $(RAY)) \
		--runs-per-student $(RUNS_PER_STUDENT) $(foreach name,$(ALLOWED_HOSTS),--allowed-host $(name))

lint: dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# The whole suite, then the numeric tests (`-m numerics`) again under a capped instruction set
# that this CPU does not run by itself (tests/isa.py): another CPU's float rounding, here.
pytest: dev data browser proxy
	$(PY) -m pytest
	$(PY) -m tests.isa

clean-venv:
	rm -rf $(VENV)

# Refresh the README's pictures from the browser harness's screenshots.
screenshots: dev data browser
	$(PY) -m pytest tests/e2e -q
	mkdir -p docs/screenshots && cp artifacts/screenshots/*.png docs/screenshots/
