# Two commands do everything on a fresh Debian/Ubuntu machine: `make demo` and `make test`.
# `make setup` is what both depend on: a .venv with the project installed, and the Arm
# toolchain + QEMU from Debian when missing. It is idempotent and fast when nothing changed.

VENV    := .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
APT_PKGS := gcc-arm-none-eabi libnewlib-arm-none-eabi binutils-arm-none-eabi qemu-system-arm
SUDO    := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DEMO_MODEL ?= examples/models/tinyengine_mcunet_vww.tflite
PYTEST_ARGS ?=

.PHONY: setup toolchain demo test soak clean

# PlatformIO's SCons is seeded offline from the venv (its registry may be unreachable); a no-op when done
setup: $(STAMP) toolchain
	@$(PY) -m tinycompiler.boards.platformio --seed

toolchain:
	@missing=""; for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,torch]'
	touch $@

# The bundled MCUNet VWW model on the emulated Cortex-M4: the memory report (patch-based), then
# the firmware built with PlatformIO, booted in QEMU, driven over serial and checked against TFLM.
demo: setup
	$(VENV)/bin/tinyc plan $(DEMO_MODEL) --board mps2-an386 --patch auto --html build/demo/memory.html
	$(PY) examples/vww_patch/vww_patch.py
	@echo "memory report with pictures: build/demo/memory.html"

# Everything but the soak runs (long sweeps, hundreds of faulty-link runs): `make soak` has those.
test: setup
	TC_NO_SKIPS=1 $(PY) -m pytest -n 2 -q -rs -m "not soak" --durations=15 $(PYTEST_ARGS)

soak: setup
	$(PY) -m pytest -n 2 -q -m soak $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) build .pytest_cache
