# The README's two commands: `make demo` and `make test`. Everything else is a step they need.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_INPUT ?= assets/demo.mp4
DEMO_OUTPUT ?= out/demo_x2.mp4
DEMO_WEIGHTS := stmfnet_trt/weights/stmfnet_mini_demo.pth

SERVE_VENV ?= .venv-serve
SERVE_STAMP := $(SERVE_VENV)/.installed

.PHONY: setup plugins ci-deps serve-env test demo lint clean dist bundled-onnx aarch64-check

setup: $(STAMP)

# torch first, pinned to the CPU wheel: anything installed later that asks for torch is then
# satisfied, instead of pulling a multi-GB CUDA build.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e ".[export,precision,dev]"
	touch $@

plugins: setup
	PATH="$(CURDIR)/$(BIN):$$PATH" cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
	cmake --build build -j2

# CI machines (CI=true, root, Debian) also get ffmpeg, so that the minterpolate comparison of
# `eval` and the y4m pipes are tested rather than skipped, and GStreamer with its Python plugin
# loader, so that the stmfnetinterp element's pipelines are; elsewhere those tests skip and say why.
ci-deps:
	@if [ "$$CI" = "true" ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  missing=$$(command -v ffmpeg >/dev/null || echo ffmpeg; \
	    for deb in gstreamer1.0-tools gstreamer1.0-python3-plugin-loader python3-gst-1.0 \
	      gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad; do \
	      dpkg -s $$deb >/dev/null 2>&1 || echo $$deb; done); \
	  if [ -n "$$missing" ]; then apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi; fi

# The Triton server stack pins numpy<2: it gets its own environment (see the script).
serve-env: $(SERVE_STAMP)

$(SERVE_STAMP): pyproject.toml scripts/make_serve_env.sh
	scripts/make_serve_env.sh $(SERVE_VENV)
	touch $@

test: setup plugins ci-deps serve-env
	$(BIN)/python -m pytest -q

# The sdist and wheel of `pip install` (docs/install.md): the wheel is built from the sdist with both
# native libraries inside, then repaired to the manylinux tag auditwheel finds (the CUDA runtime is
# linked statically, so nothing is grafted). Build isolation fetches scikit-build-core; the headers
# are fetched into third_party/ as for `make plugins` (and reused from there).
dist: setup
	rm -rf dist
	$(BIN)/python -m build --outdir dist/raw -C cmake.define.STMFNET_HEADERS_DIR=$(CURDIR)/third_party .
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/auditwheel repair -w dist dist/raw/*.whl
	mv dist/raw/*.tar.gz dist/ && rm -rf dist/raw
	ls -l dist

# The demo weights' exported graphs shipped in the package (stmfnet_trt/weights/onnx/): rerun when
# tests/pip_install says they are stale (new weights, exporter, GRAPH_REVISION or package version).
bundled-onnx: setup
	$(BIN)/python -c "from stmfnet_trt.export.cache import write_bundled_exports as w; print(*w(), sep='\n')"

# The CPU op library cross-built for aarch64 and its ctest run under qemu-user (docs/install.md);
# not part of `make test` (needs g++-aarch64-linux-gnu and qemu-user-static; ~30 s).
aarch64-check:
	scripts/check_aarch64.sh

demo: setup plugins
	mkdir -p $(dir $(DEMO_OUTPUT))
	@if [ -f $(DEMO_WEIGHTS) ]; then weights=""; else \
	  echo "NOTE: no demo weights in this checkout yet: running with --random-init (plumbing only, garbage frames)"; \
	  weights="--random-init"; fi; \
	$(BIN)/stmfnet-trt run $(DEMO_INPUT) -o $(DEMO_OUTPUT) --factor 2 --overwrite $$weights

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf build out dist stmfnet_trt/_lib $(SERVE_VENV)
