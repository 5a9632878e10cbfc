# ModOps — the two commands that set everything up on a fresh machine:
#   make demo   venv + install + database + demo data, then the main job
#   make test   the lint gates (make lint), then the whole suite on SQLite and PostgreSQL
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
RUN_STAMP := $(VENV)/.installed-run-$(shell cksum pyproject.toml | cut -d' ' -f1)
DEMO_HOST ?= 127.0.0.1
DEMO_PORT ?= 8000
DEMO_ITEMS ?= 5000
PG_URL ?= postgresql://postgres@127.0.0.1:5432/test
export MODOPS_TEST_PG_URL ?= $(PG_URL)

.PHONY: install system-deps services demo serve test lint bench screenshots fuzz clean screenshot-incidents

# vpdq builds against FFmpeg's libraries: the Debian packages come first (order-only).
# tools/install.sh uses uv (bootstrapped from PyPI with pip; parallel, caches the vpdq build)
# and falls back to pip; it prints each step. `make demo` needs only the runtime packages
# (RUN_STAMP); `make test` and the gates need the dev extras too (STAMP).
$(STAMP): pyproject.toml | system-deps
	@echo "== install: Python packages with the dev extras (tests, lint)"
	@bash tools/install.sh $(VENV) '.[dev]'
	@rm -f $(VENV)/.installed-[0-9]*; touch $(STAMP) $(RUN_STAMP)

$(RUN_STAMP): pyproject.toml | system-deps
	@echo "== install: Python packages (runtime)"
	@bash tools/install.sh $(VENV) '.'
	@rm -f $(VENV)/.installed-run-*; touch $(RUN_STAMP)

install: $(STAMP)

# Debian packages the browser tests, the PDF reports and media (probe, keyframes, Korean OCR,
# building vpdq) need (installed only when missing).
MEDIA_DEV_LIBS := libavcodec-dev libavformat-dev libavfilter-dev libavdevice-dev libavutil-dev \
  libswscale-dev libswresample-dev
system-deps:
	@missing=""; \
	test -x /usr/bin/chromium || missing="$$missing chromium"; \
	test -d /usr/share/fonts/truetype/nanum || missing="$$missing fonts-nanum"; \
	command -v pdftotext >/dev/null || missing="$$missing poppler-utils"; \
	command -v ffmpeg >/dev/null || missing="$$missing ffmpeg"; \
	command -v tesseract >/dev/null || missing="$$missing tesseract-ocr"; \
	test -f /usr/share/tesseract-ocr/5/tessdata/kor.traineddata || missing="$$missing tesseract-ocr-kor"; \
	command -v pkg-config >/dev/null || missing="$$missing pkg-config"; \
	for lib in $(MEDIA_DEV_LIBS); do \
	  dpkg -s $$lib >/dev/null 2>&1 || missing="$$missing $$lib"; done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

# The tests need PostgreSQL: start it if it is down, and fail loudly if it stays down.
services:
	@pg_isready -q -h 127.0.0.1 -p 5432 || { \
	  echo "Starting PostgreSQL"; \
	  pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start || true; \
	  for i in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done; }
	@pg_isready -h 127.0.0.1 -p 5432 || { echo "PostgreSQL is not reachable at 127.0.0.1:5432" >&2; exit 1; }
	@redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || { \
	  echo "Starting Redis"; \
	  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
	    --dir /tmp --logfile /tmp/modops-redis.log; sleep 1; }
	@redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null || { echo "Redis is not reachable at 127.0.0.1:6379" >&2; exit 1; }

# Each phase prints a line and its time (install, schema, model, world, serve); see docs/demo.md.
demo: $(RUN_STAMP)
	@echo "== demo: building the demo world, then serving http://$(DEMO_HOST):$(DEMO_PORT)/"
	@$(BIN)/modops demo --serve --host $(DEMO_HOST) --port $(DEMO_PORT) --items $(DEMO_ITEMS)

test: lint system-deps services
	@$(BIN)/python -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing" >&2; exit 1; fi; exit $$rc

# The gates `make test` runs first (and so CI): style, types, and the README's layers
# (contracts in pyproject.toml). Caches live in the git-ignored .cache/: a re-run takes seconds.
lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports --no-logo --cache-dir .cache/import-linter

bench: install services
	@for b in bench/[a-z]*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

# Refresh the README's screenshots on purpose: the browser tests write them to a temp dir
# unless MODOPS_SCREENSHOTS_DIR names one (the run's clean-checkout check, tests/conftest.py,
# then expects changes there and only there).
screenshots: install system-deps services
	MODOPS_SCREENSHOTS_DIR=$(CURDIR)/docs/screenshots \
	  $(BIN)/python -m pytest -q tests/e2e/test_screens.py tests/e2e/test_dashboards.py \
	  tests/e2e/test_hostile.py

# schemathesis against the OpenAPI spec as each role, on SQLite and PostgreSQL. `make test`
# runs it bounded (10 examples) and derandomized; this is the longer run with a fresh seed
# (printed, and named in any failure: FUZZ_SEED=… make fuzz replays it). See docs/deploy.md.
FUZZ_EXAMPLES ?= 50
ifndef FUZZ_SEED
FUZZ_SEED := $(shell date +%s)
endif
fuzz: install services
	@echo "fuzz: $(FUZZ_EXAMPLES) examples per operation, seed $(FUZZ_SEED)"
	MODOPS_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) MODOPS_FUZZ_SEED=$(FUZZ_SEED) \
	  $(BIN)/python -m pytest -q tests/ops/test_fuzz.py

# The PDF page with the Incidents section of the demo's spike-week report, rendered to
# docs/screenshots/report-incidents-ko.png (a throwaway demo world in a temp dir; ~minutes).
screenshot-incidents: install system-deps
	$(BIN)/python tools/incident_screenshot.py

clean:
	rm -rf $(VENV) modops.db modops.db-wal modops.db-shm .pytest_cache .cache

# Peer benchmark against Label Studio (issue 9; not part of CI, ~20-25 min): installs Label Studio
# into a throwaway venv outside the repo, runs the same work on both, writes
# bench/results/peer.json and docs/benchmarks.md.
LS_VENV ?= /tmp/modops-ls-venv
.PHONY: bench-peer
bench-peer: install services
	LS_VENV=$(LS_VENV) bash bench/peer_setup.sh || echo "Label Studio install failed: peer.py reports ModOps only" >&2
	$(BIN)/python bench/peer.py --run --ls-venv $(LS_VENV)
