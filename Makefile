# Two commands do everything on a fresh Debian/Ubuntu machine: `make demo` and `make test`.
# `make setup` is what both depend on: a .venv with the project installed, and the Arm
# toolchain + QEMU from Debian when missing. It is idempotent and fast when nothing changed.

VENV    := .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
APT_PKGS := gcc-arm-none-eabi libnewlib-arm-none-eabi binutils-arm-none-eabi qemu-system-arm
SUDO    := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DEMO_MODEL ?= ../shared/models/tinyengine_mcunet_vww.tflite
PYTEST_ARGS ?=

.PHONY: setup toolchain demo test clean

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

demo: setup
	$(VENV)/bin/tinyc inspect $(DEMO_MODEL)
	$(VENV)/bin/tinyc verify $(DEMO_MODEL) --board reference --samples 2

test: setup
	$(PY) -m pytest -n 2 -q $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) build .pytest_cache
