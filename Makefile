# smite.wgmesh: developer and CI entry points. `make test` is the test command.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
VENV_STAMP := $(VENV)/.stamp-test-requirements
# ansible-test sanity installs its own pinned linters (--requirements): keep them out of
# .venv. (--venv cannot be used: it downloads a pip bootstrap from a host we cannot reach.)
SANITY_VENV := .venv-sanity
SANITY_STAMP := $(SANITY_VENV)/.stamp-ansible-core

# Copy of the tracked files at ansible_collections/smite/wgmesh, for ansible-test.
COLL_DIR := build/ansible_collections/smite/wgmesh
# Pins ansible-test to the copy: otherwise it walks up to this checkout's .git and
# lists the (ignored) build tree through git, finding nothing.
TEST_ROOT := ANSIBLE_TEST_CONTENT_ROOT=$(CURDIR)/$(COLL_DIR)
# Symlink tree that resolves smite.wgmesh to this checkout (lab, molecule, playbooks).
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/build/collections
export ANSIBLE_CONFIG := $(CURDIR)/tests/lab/ansible.cfg
export PATH := $(BIN):$(PATH)

LAB := $(BIN)/python tests/lab/lab.py
LAB_SCENARIO ?= tests/lab/scenarios/seed.yml
LAB_INVENTORY = build/lab/$(shell sed -n 's/^name: *//p' $(LAB_SCENARIO))/inventory.yml
MOLECULE_SCENARIOS ?= default hub_spoke change backhaul two_meshes self_heal node_down awx mtu

.PHONY: help test setup-host venv image collection-link sanity-tree sanity units \
        lint pytest units-min molecule bench bench-converge bench-dataplane bench-heal bench-awx bench-mtu lab lab-up lab-down \
        build ee-context clean

help:
	@echo "make lab        build and start the seed lab, apply the mesh, run the seed checks"
	@echo "make lab-down   remove the lab's containers, networks and host rules"
	@echo "make test       everything CI runs: pytest units sanity lint molecule"
	@echo "make venv | setup-host | image | pytest | units | units-min | sanity | lint | molecule | bench"

test: setup-host venv image
	$(MAKE) pytest units units-min sanity lint molecule

setup-host:
	bash tests/lab/setup-host.sh

venv: $(VENV_STAMP) collection-link

$(VENV_STAMP): requirements/test.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements/test.txt
	touch $@

collection-link:
	mkdir -p build/collections/ansible_collections/smite
	ln -sfn ../../../.. build/collections/ansible_collections/smite/wgmesh

image:
	bash tests/lab/build-image.sh

# Only files git knows (tracked, or new and not ignored) go into the ansible-test tree;
# tracked files deleted in the work tree (e.g. fragments a changelog release consumed) are skipped.
sanity-tree: venv
	rm -rf $(COLL_DIR)
	mkdir -p $(COLL_DIR)
	git ls-files -z --cached --others --exclude-standard \
	  | rsync -a --from0 --ignore-missing-args --files-from=- ./ $(COLL_DIR)/

$(SANITY_STAMP): requirements/test.txt
	test -x $(SANITY_VENV)/bin/python || $(PYTHON) -m venv $(SANITY_VENV)
	$(SANITY_VENV)/bin/python -m pip install -q --disable-pip-version-check \
	  "$$(grep '^ansible-core==' requirements/test.txt)"
	touch $@

# ansible-test bootstraps pip in its test venvs with a script from a host we cannot reach;
# give it a stand-in under the name it looks for (pip version as pinned by ansible-test).
sanity: sanity-tree $(SANITY_STAMP)
	v=$$(sed -n "s/.*pip='\([0-9.]*\)'.*/\1/p" \
	  $(SANITY_VENV)/lib/python3.11/site-packages/ansible_test/_internal/python_requirements.py | head -n1); \
	test -n "$$v"; mkdir -p $(HOME)/.ansible/test/cache; \
	cp requirements/ansible-test-get-pip.py $(HOME)/.ansible/test/cache/get_pip_$${v//./_}.py
	cd $(COLL_DIR) && $(TEST_ROOT) $(CURDIR)/$(SANITY_VENV)/bin/ansible-test sanity \
	  --requirements --python 3.11 --color no

# The oldest ansible-core meta/runtime.yml claims (requires_ansible), in its own venv: the
# planner and the filters over it are tested there too (ansible-core 2.16 needs Python >= 3.10).
MIN_VENV := .venv-min
MIN_ANSIBLE_CORE ?= 2.16.*
MIN_STAMP := $(MIN_VENV)/.stamp-ansible-core

$(MIN_STAMP): requirements/test.txt
	test -x $(MIN_VENV)/bin/python || $(PYTHON) -m venv $(MIN_VENV)
	$(MIN_VENV)/bin/python -m pip install -q --disable-pip-version-check "ansible-core==$(MIN_ANSIBLE_CORE)" \
	  "$$(grep '^netaddr==' requirements/test.txt)" "$$(grep '^pytest==' requirements/test.txt)"
	touch $@

units-min: sanity-tree $(MIN_STAMP)
	cd $(COLL_DIR) && PYTHONPATH=$(CURDIR)/build $(CURDIR)/$(MIN_VENV)/bin/python -m pytest -q -p no:cacheprovider \
	  --import-mode=importlib tests/unit/plugins/plugin_utils/test_planner.py \
	  tests/unit/plugins/plugin_utils/test_planner_golden.py tests/unit/plugins/plugin_utils/test_planner_secret.py \
	  tests/unit/plugins/plugin_utils/test_publish.py tests/unit/plugins/module_utils/test_names.py tests/unit/plugins/filter
	$(MIN_VENV)/bin/python -c "import ansible.release as r; print('units-min: ansible-core', r.__version__)"

# ansible-test exits 0 when it finds no unit tests: refuse that.
units: sanity-tree
	@test -n "$$(find $(COLL_DIR)/tests/unit -name 'test_*.py' 2>/dev/null)" \
	  || { echo "units: no test_*.py under tests/unit" >&2; exit 1; }
	cd $(COLL_DIR) && $(TEST_ROOT) $(BIN)/ansible-test units --python 3.11 --color no

lint: venv
	$(BIN)/ansible-lint --profile production
	$(BIN)/antsibull-changelog lint

# pytest exits 5 when it collects nothing; that stays a failure here. importlib import
# mode: test files in different directories may share a basename (ansible-test allows it).
pytest: sanity-tree
	cd $(COLL_DIR) && PYTHONPATH=$(CURDIR)/build $(BIN)/python -m pytest -q -p no:cacheprovider --import-mode=importlib tests/unit tests/lab

molecule: venv
	for s in $(MOLECULE_SCENARIOS); do \
	  echo "=== molecule test -s $$s"; \
	  $(BIN)/molecule test -s $$s || exit 1; \
	done

# Benchmarks measure; they are not tests (no pass/fail on time).
bench: venv
	PYTHONPATH=$(CURDIR)/build/collections $(BIN)/python tests/bench/bench_planner.py

bench-converge: setup-host venv image
	$(BIN)/python tests/bench/bench_converge.py

# Recovery time per fault without Ansible, and the health agent's CPU time per round.
bench-heal: setup-host venv image
	$(BIN)/python tests/bench/bench_heal.py

# One sliced pass (publish + site, 3 slices each, through ansible-runner) vs one unsliced site
# job on a fresh awx lab each (docs/awx.md, "Figures").
bench-awx: setup-host venv image
	$(BIN)/python tests/bench/bench_awx.py

# mtu auto: probing time per converge for full meshes of 3 and 6 nodes (lab subnets of extensions/molecule/mtu).
bench-mtu: setup-host venv image
	$(BIN)/python tests/bench/bench_mtu.py

# Direct vs backhaul between two LAN hosts (the Backhaul test double, not real Backhaul), and
# the fixed MTU 1280 vs mtu auto on the lab's 1500 path.
bench-dataplane: setup-host venv image
	$(BIN)/python tests/bench/bench_dataplane.py

lab: setup-host venv image lab-up
	@test -f playbooks/site.yml || { echo "lab: containers are up ($(LAB_INVENTORY)); playbooks/site.yml does not exist yet, stopping here." >&2; exit 1; }
	$(BIN)/ansible-playbook -i $(LAB_INVENTORY) playbooks/site.yml
	$(LAB) check $(LAB_SCENARIO)
	@# The status table, and status.json/.md/.html (the page: topology and health) beside the inventory.
	@if [ -f playbooks/status.yml ]; then \
	  report="$(CURDIR)/$(dir $(LAB_INVENTORY))report"; rc=0; \
	  $(BIN)/ansible-playbook -i $(LAB_INVENTORY) playbooks/status.yml -e wgmesh_report_dir="$$report" || rc=$$?; \
	  if [ -f "$$report/status.html" ]; then echo "status page: file://$$report/status.html"; fi; \
	  exit $$rc; \
	fi

lab-up: venv
	$(LAB) up $(LAB_SCENARIO)

lab-down: venv
	$(LAB) down $(LAB_SCENARIO)

# The collection tarball (galaxy.yml's build_ignore leaves tests and dev files out).
build: venv
	$(BIN)/ansible-galaxy collection build --force --output-path build/dist .

# The execution environment's build context (build/ee/context): the collection tarball beside
# execution-environment.yml's additional_build_files, then ansible-builder create. No image is
# built here (that needs podman build access to the base image registry): see docs/awx.md.
ee-context: venv
	rm -rf build/ee
	$(BIN)/ansible-galaxy collection build --output-path build/ee .
	mv build/ee/smite-wgmesh-*.tar.gz build/ee/smite-wgmesh.tar.gz
	$(BIN)/ansible-builder create --file execution-environment.yml --context build/ee/context

clean:
	rm -rf build
