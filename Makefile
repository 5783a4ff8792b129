# stratus: build, test, demo, benchmarks, man pages, packaging.
#   make demo    run the main job end to end on embedded defaults
#   make test    unit tests (also without OpenSSL), black-box tests (the
#                Marketplace's on SQLite, then on PostgreSQL), clippy,
#                rustfmt, man pages up to date

PREFIX ?= /usr/local
DESTDIR ?=
BINDIR = $(DESTDIR)$(PREFIX)/bin
MANDIR = $(DESTDIR)$(PREFIX)/share/man/man1
DATADIR = $(DESTDIR)$(PREFIX)/share
SYSCONFDIR ?= /etc
UNITDIR = $(DESTDIR)$(PREFIX)/lib/systemd/system
CARGO ?= cargo
COMMANDS = stratus-build-metadata stratus-sign-metadata stratus-validate-metadata \
	stratus-upload-metadata stratus-deprecate-metadata stratus-upload-image \
	stratus-search-image stratus-show-image stratus-list-images stratus-manifest \
	stratus-policy-image stratus-download-image \
	stratus-create-image stratus-run-instance stratus-describe-instance stratus-kill-instance \
	stratus-marketplace
# The Marketplace server's black-box tests, run again on PostgreSQL (there
# the replication catch-up takes 2,000 entries; the 10,000 run is on SQLite).
MARKETPLACE_TESTS = $(patsubst bin-tests/tests/%.rs,--test %,$(filter-out %/marketplace_cluster.rs,$(wildcard bin-tests/tests/marketplace*.rs)))
KIT = install.sh stratus-context stratus-firstboot rc.local.fragment \
	stratus-context.service stratus-firstboot.service

.PHONY: all build test demo bench bench-download bench-marketplace bench-replication man completions install rpm clean check-man fuzz

all: build

build:
	$(CARGO) build --release --bins

test:
	$(CARGO) build --workspace --bins
	$(CARGO) test --workspace
	$(CARGO) test -p stratus-core --no-default-features --lib
	STRATUS_TEST_STORE=postgres STRATUS_REPLICATION_ENTRIES=2000 $(CARGO) test -p stratus-bin-tests $(MARKETPLACE_TESTS)
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) clippy -p stratus-core --no-default-features --all-targets -- -D warnings
	$(CARGO) fmt --all --check
	$(MAKE) --no-print-directory check-man

demo: build
	sh examples/demo.sh target/release demo-out

bench: build
	$(CARGO) run --quiet --release -p xtask -- shapes bench-out/shapes > /dev/null
	sh bench/run.sh target/release bench-out bench-out/shapes

# The verified download's part of `make bench` alone.
bench-download: build
	sh bench/download.sh target/release bench-out

# The Marketplace server's part of `make bench` alone.
bench-marketplace: build
	sh bench/marketplace.sh target/release bench-out
	sh bench/marketplace-postgres.sh target/release bench-out

# Replication catch-up (serve --follow) alone.
bench-replication: build
	sh bench/replication.sh target/release bench-out

# Every fuzz target for FUZZ_SECONDS each (needs cargo-fuzz; see fuzz/README.md).
FUZZ_SECONDS ?= 60
FUZZ_TARGETS = validate manifest_roundtrip c14n namespaces credentials trust_files config
fuzz:
	$(CARGO) run --quiet -p xtask -- shapes fuzz/corpus/validate 65536 > /dev/null
	$(CARGO) run --quiet -p xtask -- shapes fuzz/corpus/c14n 65536 > /dev/null
	for t in $(FUZZ_TARGETS); do \
		mkdir -p fuzz/corpus/$$t; \
		cp fuzz/regressions/$$t/* fuzz/corpus/$$t/; \
		(cd fuzz && RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run -O $$t corpus/$$t -- \
			-max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048) || exit 1; \
	done

# Man pages are generated from the clap definitions and kept in man/ for
# packagers; `make test` fails when they are stale.
man:
	$(CARGO) run --quiet -p xtask -- man man

check-man:
	rm -rf target/man-check
	$(CARGO) run --quiet -p xtask -- man target/man-check > /dev/null
	diff -r man target/man-check || { echo "man/ is stale: run 'make man'"; exit 1; }

completions:
	$(CARGO) run --quiet -p xtask -- completions target/completions

install: build completions
	install -d $(BINDIR) $(MANDIR) $(DATADIR)/bash-completion/completions \
		$(DATADIR)/zsh/site-functions $(DATADIR)/fish/vendor_completions.d
	for c in $(COMMANDS); do \
		install -m 755 target/release/$$c $(BINDIR)/$$c; \
		install -m 644 man/$$c.1 $(MANDIR)/$$c.1; \
		install -m 644 target/completions/bash/$$c.bash $(DATADIR)/bash-completion/completions/$$c; \
		install -m 644 target/completions/zsh/_$$c $(DATADIR)/zsh/site-functions/_$$c; \
		install -m 644 target/completions/fish/$$c.fish $(DATADIR)/fish/vendor_completions.d/$$c.fish; \
	done
	install -m 644 man/stratus-marketplace-*.1 $(MANDIR)/
	# The preparation kit, for authors who prepare images by hand
	# (stratus-create-image --prepare carries its own copy).
	install -d $(DATADIR)/stratus/kit
	for f in $(KIT); do \
		case $$f in *.*) mode=644 ;; *) mode=755 ;; esac; \
		[ $$f = install.sh ] && mode=755; \
		install -m $$mode kit/$$f $(DATADIR)/stratus/kit/$$f; \
	done
	# The server: its systemd unit (pointing at this prefix) and, unless one
	# is there already, its configuration file.
	install -d $(UNITDIR) $(DESTDIR)$(SYSCONFDIR)/stratuslab
	sed -e 's|/usr/bin/stratus-marketplace|$(PREFIX)/bin/stratus-marketplace|' \
		-e 's|/etc/stratuslab/|$(SYSCONFDIR)/stratuslab/|' \
		packaging/stratus-marketplace.service > $(UNITDIR)/stratus-marketplace.service
	chmod 644 $(UNITDIR)/stratus-marketplace.service
	[ -e $(DESTDIR)$(SYSCONFDIR)/stratuslab/marketplace.cfg ] || \
		install -m 644 packaging/marketplace.cfg $(DESTDIR)$(SYSCONFDIR)/stratuslab/marketplace.cfg

rpm: build
	command -v cargo-generate-rpm > /dev/null || $(CARGO) install --locked cargo-generate-rpm
	$(CARGO) generate-rpm -p crates/stratus-cli

clean:
	$(CARGO) clean
	rm -rf demo-out bench-out
