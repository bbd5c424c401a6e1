# The two set-up commands of the README. Both install what they need into .venv first and
# are safe to run again.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test install upgrade system-deps bench-deps clean

# Every dependency at the version and hashes of requirements.lock (made by `make upgrade`
# with pip-tools from pyproject.toml's ranges); then Interdict itself, without dependencies.
$(BIN)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -c 'import sys; sys.exit("Interdict needs Python >= 3.11") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

install: $(BIN)/.installed

# Newer versions within pyproject.toml's ranges into requirements.lock, then the whole suite on
# them: commit the lock only when it passes.
PIP_TOOLS := pip-tools==7.7.0
upgrade:
	$(PYTHON) -m venv $(VENV)-tools
	$(VENV)-tools/bin/python -m pip install --quiet '$(PIP_TOOLS)'
	$(VENV)-tools/bin/pip-compile --quiet --upgrade --extra test --generate-hashes --allow-unsafe --strip-extras \
		--no-emit-find-links -o requirements.lock pyproject.toml
	rm -f $(BIN)/.installed
	$(MAKE) test

# Debian packages the tests start for real: tor (a private Tor network on loopback), chromium
# (the web app's end-to-end tests, driven by Playwright) and redis-server (the shared crawl
# frontier); jq and curl run the documented command lines as printed. The tests start servers
# of their own on free loopback ports.
system-deps:
	@if ! command -v tor >/dev/null || ! command -v tor-gencert >/dev/null || ! command -v chromium >/dev/null \
			|| ! command -v redis-server >/dev/null || ! command -v jq >/dev/null || ! command -v curl >/dev/null; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq tor chromium redis-server jq curl >/dev/null; \
	fi
	@# the package may start a system tor; Interdict's tests run their own and want 9050 free
	@if pgrep -x tor >/dev/null && [ -z "$$INTERDICT_KEEP_SYSTEM_TOR" ]; then \
		(service tor stop || systemctl stop tor) >/dev/null 2>&1 || true; fi

# Only the benchmarks compare against Privoxy.
bench-deps: install system-deps
	@command -v privoxy >/dev/null || { SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq privoxy >/dev/null; }
	@(service privoxy stop || true) >/dev/null 2>&1

demo: install
	$(BIN)/interdict demo

# Two workers (pytest-xdist); tests sharing one service run on one of them (tests/conftest.py).
test: install system-deps
	$(BIN)/python -m pytest -n 2 --dist loadgroup

clean:
	rm -rf $(VENV) $(VENV)-tools var .pytest_cache
