# Set-up and everyday commands. Each target installs what it needs on a fresh machine.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# How the C extensions (make codec) are compiled against the venv's Python, and the file suffix it imports.
CC_EXTENSION = gcc -O2 -shared -fPIC -Wall -Wextra -Werror -Wno-missing-field-initializers \
	-I"$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["include"])')"
EXT_SUFFIX = $$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')

.PHONY: demo test test-all lint bench sshd chromium golang java venv spec codec cbuild xmlfields

venv: $(VENV)/.installed codec

# The ledger's compiled codec (ledger/_codec.c, loaded by ledger/compiled.py), built beside its source
# with the source's SHA-256 in it: the import refuses a build that is missing or not of that source.
# The XML field reader (connectors/parsers/_xmlfields.c, loaded by connectors/parsers/compiled.py) is built
# with it the same way, against the headers lxml ships (it reads lxml's elements' libxml2 nodes).
codec: $(VENV)/.installed cbuild xmlfields
	$(CC_EXTENSION) -Wno-unused-parameter \
		-DCODEC_SOURCE_SHA256="\"$$(sha256sum ledger/_codec.c | cut -d' ' -f1)\"" ledger/_codec.c -lcrypto -o ledger/_codec.so.tmp
	mv ledger/_codec.so.tmp "ledger/_codec$(EXT_SUFFIX)"  # a running night keeps the file it loaded

xmlfields: $(VENV)/.installed cbuild
	$(CC_EXTENSION) -I"$$($(BIN)/python -c 'import lxml; print(lxml.get_include()[0])')" \
		-DXMLFIELDS_SOURCE_SHA256="\"$$(sha256sum connectors/parsers/_xmlfields.c | cut -d' ' -f1)\"" \
		-DLXML_BUILT_WITH="\"$$($(BIN)/python -c 'import lxml.etree; print(lxml.etree.__version__)')\"" \
		connectors/parsers/_xmlfields.c -o connectors/parsers/_xmlfields.so.tmp
	mv connectors/parsers/_xmlfields.so.tmp "connectors/parsers/_xmlfields$(EXT_SUFFIX)"

# Debian's C compiler and OpenSSL headers (the codec hashes with libcrypto, as Python's hashlib does).
cbuild:
	@{ command -v gcc >/dev/null && test -f /usr/include/openssl/evp.h; } || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq --no-install-recommends gcc libc6-dev libssl-dev >/dev/null; }

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev,bench,spark]'
	touch $@

# Debian's OpenSSH server: the SFTP tests start a real sshd on loopback.
sshd:
	@test -x /usr/sbin/sshd || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq openssh-server >/dev/null; }

# Debian's OpenJDK 17: the Spark engine's tests run PySpark in local mode (engines/, tests/engines).
java:
	@command -v java >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless >/dev/null; }

# Debian's Chromium: the browser tests open the Data Docs, the scorecard and the exception worklist
# headless (the worklist's through Selenium and chromium-driver, with a CJK font for its screenshot).
chromium:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null && test -d /usr/share/fonts/truetype/wqy || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq --no-install-recommends chromium chromium-driver fonts-wqy-zenhei >/dev/null; }

# Debian's Go 1.19 and golang.org/x/mod 0.7: tests/interop builds a small Go program offline
# (GOPATH mode, /usr/share/gocode) that checks our checkpoints, cosignatures and proofs.
golang:
	@{ command -v go >/dev/null && test -d /usr/share/gocode/src/golang.org/x/mod/sumdb/note; } || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq golang-go golang-golang-x-mod-dev >/dev/null; }

## Simulate three nights of a synthetic bank and run them end to end (local folder + DuckDB file).
demo: venv
	$(BIN)/scf demo --home demo

## The linters, zero findings (config in pyproject.toml): ruff (E, F, W, B, SIM, UP, I), mypy,
## import-linter (the layers of docs/ARCHITECTURE.md) and vulture (dead code).
lint: venv
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	$(BIN)/vulture

## The test suite (slow tests excluded; `make test-all` includes them), after the linters.
test: venv sshd chromium golang java lint
	$(BIN)/pytest

test-all: venv sshd chromium golang java
	$(BIN)/pytest -m ''

## Benchmarks (not tests): figures go to BENCHMARKS.md by hand.
bench: venv
	$(BIN)/python bench/bench_night.py

## Refresh the repo's copy of the contract (docs/spec/) from the steering folder's shared/spec
## (tests/test_spec_copy.py checks the copy against the same folder).
SCF_SHARED_SPEC ?= ../shared/spec
spec:
	test -d $(SCF_SHARED_SPEC)
	rm -rf docs/spec && cp -r $(SCF_SHARED_SPEC) docs/spec && chmod -R u+w docs/spec
