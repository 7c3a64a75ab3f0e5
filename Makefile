# The project's two commands: `make start` and `make test`. Both bootstrap the machine first.
SHELL := /bin/bash
ENV := source scripts/env.sh &&
# The machine's PostgreSQL, used by the database tests through @backstage/backend-test-utils.
PG_URL ?= postgresql://postgres@127.0.0.1:5432

.PHONY: bootstrap start start-prod bench-web test check lint unit install-test e2e postgres test-conformance bench

bootstrap:
	@scripts/bootstrap.sh

## Starts the example Backstage (frontend :3000, backend :7007) on SQLite with kube-sim.
start: bootstrap
	@scripts/start.sh

## The same example built for production: the backend serves the built app on one port
## (KUBECHART_PORT, default 7007), SQLite, kube-sim. See scripts/start-prod.sh for its options.
start-prod: bootstrap
	@scripts/start-prod.sh

## Type check, lint, strict config check, every jest test (SQLite and PostgreSQL), the browser tests, then the install test.
test: bootstrap postgres check unit e2e install-test

check:
	@$(ENV) yarn tsc
	@$(ENV) yarn tsc -p e2e
	@$(ENV) yarn backstage-cli repo lint
	@$(ENV) yarn prettier:check
	@$(ENV) yarn backstage-cli config:check --strict --config app-config.yaml --config app-config.production.yaml

unit: postgres
	@$(ENV) BACKSTAGE_TEST_DATABASE_POSTGRES15_CONNECTION_STRING=$(PG_URL) CI=true \
	  yarn backstage-cli repo test --maxWorkers=2

## Packs every package and installs the tarballs into a fresh @backstage/create-app app, as the README says.
install-test: bootstrap
	@$(ENV) scripts/install-test.sh

e2e:
	@$(ENV) scripts/e2e.sh

postgres:
	@scripts/ensure-postgres.sh

## Runs the Kubernetes protocol conformance suite against KUBECONFIG (a real cluster) instead of kube-sim.
test-conformance: bootstrap
	@$(ENV) KUBECONFIG=$(KUBECONFIG) CI=true yarn --cwd packages/kube-sim backstage-cli package test src/conformance

bench: bootstrap postgres
	@$(ENV) yarn bench

## Page load times in Chromium against the production build, seeded data (the last part of `make bench`, alone).
bench-web: bootstrap postgres
	@$(ENV) yarn bench:web
