# Ganymede: `make start` runs a hub on http://127.0.0.1:8000/, `make test` runs every test.
# Each target installs what it needs first (Debian packages, a Python environment with JupyterLab,
# node_modules), so a new machine needs only Node 20 and npm.

SHELL := /bin/bash

# `make start CONFIG=other.yaml` to choose; else ./ganymede.yaml when there is one.
CONFIG ?= $(if $(wildcard ganymede.yaml),ganymede.yaml,examples/dev.yaml)

# The Python environment with JupyterLab 4 for users' servers (scripts/install-jupyterlab.sh); the
# hub's default spawner.cmd is its jupyterhub-singleuser, found through GANYMEDE_VENV.
# `make start VENV=/srv/jupyterlab` puts it elsewhere (servers of other uids must reach it).
VENV ?= .venv
export GANYMEDE_VENV := $(abspath $(VENV))

.DEFAULT_GOAL := help
ROOT := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: help deps-system-run deps-system-test venv hub-account node_modules build typecheck start test bench clean distclean

help:
	@echo 'make start             run the hub with $$(CONFIG) ($(CONFIG))'
	@echo 'make test              install what is missing, typecheck, run all tests'
	@echo 'make bench             benchmark Ganymede against JupyterHub, write bench/RESULTS.md'
	@echo 'make build             compile src/ to dist/'
	@echo 'make typecheck         tsc --noEmit over src/, test/ and bench/'
	@echo 'make node_modules      npm ci, when package-lock.json changed'
	@echo 'make venv              JupyterLab 4 for users'"'"' servers in $$(VENV) ($(VENV)), when missing'
	@echo 'make hub-account       the unprivileged account the hub runs as after start (ganymede), when missing'
	@echo 'make deps-system-run   Debian packages for running (jupyterhub-singleuser, a Python kernel)'
	@echo 'make deps-system-test  ... and for testing (chromium, sqlite3, a C compiler for the bench mock)'
	@echo 'make clean             remove dist/ and test leftovers; distclean also node_modules/ and .venv/'

deps-system-run:
	./scripts/install-system-deps.sh run

deps-system-test:
	./scripts/install-system-deps.sh test

venv: $(VENV)/.installed

# Started as root, the hub starts its launcher (which starts each server under its user's own uid)
# and then runs as this account (config key `user`).
hub-account:
	./scripts/create-hub-account.sh ganymede

# The script writes the stamp only when JupyterLab is installed; when pip cannot install, it warns and
# succeeds (servers run Debian's classic Notebook), and the next make tries again. It needs Debian's
# python3-venv and jupyterhub: start and test list it after deps-system-*. A changed script (new
# pins) installs again.
$(VENV)/.installed: scripts/install-jupyterlab.sh
	./scripts/install-jupyterlab.sh $(VENV)

node_modules: node_modules/.stamp

# npm ci empties node_modules/ first, so the stamp is written after it. better-sqlite3 is a native
# addon: its install script is approved in package.json's allowScripts (npm 11 blocks unapproved
# ones), and if it still does not load (a blocked script, another Node ABI) it is rebuilt here.
node_modules/.stamp: package-lock.json
	npm ci
	node -e "require('better-sqlite3')" 2>/dev/null || npm rebuild better-sqlite3
	node -e "require('better-sqlite3')"
	touch $@

build: node_modules
	npm run build

typecheck: node_modules
	npx tsc -p tsconfig.check.json

# The hub starts as root (through sudo when make is not root): it starts its launcher, then drops to ganymede.
start: deps-system-run hub-account venv node_modules build
	@echo "Ganymede: open http://127.0.0.1:8000/ and log in with any user name (dummy authenticator; admin: admin)"
	$(ROOT) node bin/ganymede.js start --config $(CONFIG)

# The typecheck runs by itself first so that a type error is reported before minutes of tests.
test: deps-system-test hub-account venv node_modules
	npx tsc -p tsconfig.check.json
	npm test
	npm run bench -- --quick

# The full side-by-side benchmark against JupyterHub (about 10 minutes); writes bench/RESULTS.md.
bench: deps-system-test node_modules
	npm run bench

clean:
	rm -rf dist .test-tmp bench/out

distclean: clean
	rm -rf node_modules .venv
