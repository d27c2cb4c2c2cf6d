# certfleet.acme — every set-up step a fresh machine needs is behind these targets.
SHELL := /bin/bash
.ONESHELL:
.SHELLFLAGS := -euo pipefail -c

ROOT        := $(abspath .)
VENV        := $(ROOT)/.venv
PY          := $(VENV)/bin/python
BUILD       := $(ROOT)/.build
COLLECTIONS := $(BUILD)/collections
LINK        := $(COLLECTIONS)/ansible_collections/certfleet/acme
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export ANSIBLE_CONFIG := $(ROOT)/tests/ansible.cfg
export PATH := $(VENV)/bin:$(PATH)

.PHONY: help deps venv link lab-up lab-down lab-status demo test sanity unit integration faults molecule bench build clean

help:
	@echo "make demo   - install what is needed, start the lab, issue a certificate for the fleet, show what every node serves"
	@echo "make test   - sanity, unit and integration tests against the lab"
	@echo "make faults - the fault suite: the role under CA errors, kills, unreachable hosts, a full disk (own lab, own netns)"
	@echo "make molecule - the Molecule scenario extensions/molecule/lab (converge, idempotence, verify) on the lab"
	@echo "make bench  - benchmark against community.crypto and certbot on the lab"
	@echo "make lab-up / lab-down / lab-status"

$(VENV)/.installed: requirements.txt tests/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -r requirements.txt -r tests/requirements.txt
	touch $@

venv: $(VENV)/.installed

link:
	mkdir -p $(dir $(LINK))
	ln -sfn $(ROOT) $(LINK)

deps: venv link
	bash tests/lab/install.sh

lab-up: deps
	bash tests/lab/lab.sh up

lab-down:
	bash tests/lab/lab.sh down

lab-status:
	bash tests/lab/lab.sh status

# The demo covers Traefik only when its binary is already built: on a fresh machine its build
# (about 16 minutes) is left to make test.
demo: deps
	if bash tests/lab/build-traefik.sh --check >/dev/null 2>&1; then
	  bash tests/lab/lab.sh up; hosts=web:lb:traefik
	else
	  LAB_TRAEFIK=0 bash tests/lab/lab.sh up; hosts=web:lb
	fi
	ansible-playbook -i tests/lab/inventory.yml tests/lab/demo/demo.yml -e demo_hosts=$$hosts

sanity: venv link
	bash tests/sanity/lint.sh
	bash tests/sanity/docs-lint.sh
	bash tests/sanity/run.sh

unit: venv link
	$(PY) -m pytest -q tests/unit

integration: deps
	LAB_TRAEFIK=0 bash tests/lab/lab.sh up
	bash tests/integration/run.sh

# The fault suite starts a lab of its own in the network namespace cf-faults (LAB_DIR
# /var/tmp/cf-faults): it never touches the shared lab. Figures: tests/faults/RESULTS.md.
faults: deps
	bash tests/lab/build-pebble.sh >/dev/null
	bash tests/faults/run.sh

test: deps
	bash tests/lab/build-pebble.sh --background >/dev/null    # overlaps sanity and unit tests
	bash tests/lab/build-traefik.sh --background >/dev/null   # overlaps sanity and unit tests
	$(MAKE) --no-print-directory sanity
	$(MAKE) --no-print-directory unit
	$(MAKE) --no-print-directory integration

# Molecule finds collection scenarios under extensions/molecule/ from the collection root.
molecule: lab-up
	molecule test -s lab

build: venv
	mkdir -p $(BUILD)
	ansible-galaxy collection build --force --output-path $(BUILD) .

bench: lab-up
	bash bench/run.sh

clean:
	rm -rf $(BUILD) tests/output
