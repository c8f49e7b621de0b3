# Two commands: `make run` and `make test`. Both set up .venv first (idempotent: a second
# `make setup` only re-checks the models). Nothing needs sourcing by hand.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
LOG := $(VENV)/setup.log
MSGS := emotion_perception_msgs
MSG_SOURCES := $(wildcard $(MSGS)/msg/*.msg) $(MSGS)/CMakeLists.txt $(MSGS)/package.xml

.PHONY: help setup run test lint bench models clean

help:
	@echo "make run    set up, then run camera -> perception -> unity_bridge (webcam, else demo)"
	@echo "make test   set up, then run the test suite"
	@echo "make bench  set up, then print figures: seeds' loop vs ours, and the graph's rates"
	@echo "make setup  only set up .venv, the messages and the models"

setup: $(VENV)/.package models

$(VENV)/.python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' \
	  || { echo "setup: needs CPython 3.11 (the ROS 2 Kilted wheels and constraints.txt are for it); set PYTHON=python3.11" >&2; exit 1; }
	@rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	@touch $@

$(VENV)/.deps: $(VENV)/.python requirements.txt constraints.txt tools/patch_ros_cmake.py
	@echo "setup: installing pinned dependencies into $(VENV) (about a minute; log: $(LOG))"
	@$(PY) -m pip install -q -r requirements.txt -c constraints.txt >$(LOG) 2>&1 \
	  || { echo "setup: pip install failed (last lines of $(LOG) below); check access to the package index, then re-run 'make setup'" >&2; tail -n 5 $(LOG) >&2; exit 1; }
	@$(PY) tools/patch_ros_cmake.py
	@touch $@

$(VENV)/.msgs: $(VENV)/.deps $(MSG_SOURCES)
	@command -v c++ >/dev/null || { echo "setup: no C++ compiler to build $(MSGS); install one (Debian: apt-get install g++) and re-run 'make setup'" >&2; exit 1; }
	@echo "setup: building $(MSGS) with colcon into $(VENV)"
	@PATH="$(CURDIR)/$(VENV)/bin:$$PATH" AMENT_PREFIX_PATH="$(CURDIR)/$(VENV)" CMAKE_PREFIX_PATH="$(CURDIR)/$(VENV)" \
	  $(VENV)/bin/colcon --log-base $(VENV)/colcon/log build --base-paths $(MSGS) \
	    --build-base $(VENV)/colcon/build --install-base $(VENV) --merge-install \
	    --cmake-args -DBUILD_TESTING=OFF -DPython3_EXECUTABLE=$(CURDIR)/$(PY) >>$(LOG) 2>&1 \
	  || { echo "setup: colcon build of $(MSGS) failed; see $(VENV)/colcon/log/latest_build and re-run 'make setup'" >&2; exit 1; }
	@$(PY) -c 'from emotion_perception_msgs.msg import FaceExpressionArray' \
	  || { echo "setup: $(MSGS) built but does not import; re-run 'make setup'" >&2; exit 1; }
	@touch $@

$(VENV)/.package: $(VENV)/.msgs setup.py setup.cfg package.xml Makefile
	@$(PY) -m pip install -q --no-deps --no-build-isolation -e . >>$(LOG) 2>&1 \
	  || { echo "setup: installing emotion_perception into $(VENV) failed; see $(LOG)" >&2; exit 1; }
	@# setup.cfg puts executables in lib/emotion_perception for `ros2 run`; link them onto PATH.
	@for exe in $(VENV)/lib/emotion_perception/*; do ln -sf "../lib/emotion_perception/$${exe##*/}" $(VENV)/bin/; done
	@touch $@

models: $(VENV)/.package
	@$(VENV)/bin/emotion-perception models fetch

run: setup
	$(VENV)/bin/emotion-perception run $(ARGS)

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check emotion_perception test launch benchmarks tools setup.py

bench: setup
	$(PY) benchmarks/bench_core.py
	$(PY) benchmarks/bench_graph.py

clean:
	rm -rf $(VENV) models/*.hdf5 models/*.dat models/*.xml build install log
