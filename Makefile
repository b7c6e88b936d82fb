# phx: one plain Makefile.  `make BUILD=build/asan SAN=1` builds elsewhere.

PREFIX  = /usr/local
BINDIR  = $(PREFIX)/bin
MANDIR  = $(PREFIX)/share/man
DATADIR = $(PREFIX)/share/phx
DESTDIR =

CC      = cc
BUILD   = .
PKGS    = libcurl libpq libcjson yaml-0.1
CFLAGS  = -O2 -g
SAN     =
SANFLAGS = $(SAN:1=-fsanitize=address,undefined,float-cast-overflow -fno-omit-frame-pointer -fno-sanitize-recover=all)
PHX_CFLAGS = -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow \
	-Wstrict-prototypes -Wmissing-prototypes -fstack-protector-strong \
	-D_FORTIFY_SOURCE=2 -Ilib $$(pkg-config --cflags $(PKGS)) \
	-DPHX_CONFDIR='"$(DATADIR)/configs/deployment-validation"' $(SANFLAGS)
LDLIBS  = $$(pkg-config --libs $(PKGS)) -lm
PROVE   = prove
PROVEFLAGS = -j2

LIBSRC  = $(wildcard lib/*.c)
LIBOBJ  = $(LIBSRC:%.c=$(BUILD)/%.o)
# a tool is a folder tools/NAME/ of .c files (a private NAME.h beside
# them) or, while small, one file tools/phx-NAME.c
TOOLNAMES = deploy functest probe report secscan
TOOLS   = $(TOOLNAMES:%=$(BUILD)/tools/phx-%)
tool_src = $(or $(wildcard tools/$(1)/*.c),tools/phx-$(1).c)
LIBA    = $(BUILD)/lib/libphx.a
UNIT    = $(BUILD)/tests/unit/phx-unit
MAN1    = $(wildcard man/*.1)
MANALL  = $(wildcard man/*.[1-9])
FUZZNAMES = pass config compose redact report
FUZZ_SECONDS = 60
FUZZSAN = -fsanitize=address,undefined,float-cast-overflow \
	-fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZDIR = $(BUILD)/tests/fuzz
REPLAY  = $(FUZZNAMES:%=$(FUZZDIR)/replay-%)
FUZZERS = $(FUZZNAMES:%=$(FUZZDIR)/fuzz-%)
REPORTOBJ = $(patsubst %.c,$(BUILD)/%.o,\
	$(filter-out tools/report/main.c,$(wildcard tools/report/*.c)))

DEBS = build-essential clang pkg-config libcurl4-openssl-dev libpq-dev \
	libcjson-dev libyaml-dev jq mandoc perl curl openssl ca-certificates \
	podman podman-compose runc mmdebstrap busybox-static uidmap \
	containernetworking-plugins catatonit postgresql postgresql-client \
	libxml2-utils prometheus prometheus-blackbox-exporter nginx-light \
	shellcheck tmux hyperfine procps iproute2 psmisc bc nodejs python3 \
	util-linux time

all: $(TOOLS) $(UNIT) $(REPLAY)

$(BUILD)/lib/%.o: lib/%.c
	@mkdir -p $(@D)
	$(CC) $(PHX_CFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

# the tools look for their configs under DATADIR: a build made for one
# PREFIX is rebuilt when installed under another (the stamp holds it)
CONFSTAMP = $(BUILD)/lib/confdir.stamp
$(CONFSTAMP): FORCE
	@mkdir -p $(@D)
	@[ "$$(cat $@ 2>/dev/null)" = "$(DATADIR)" ] || echo "$(DATADIR)" >$@
$(BUILD)/lib/config.o: $(CONFSTAMP)
FORCE:

$(BUILD)/tools/%.o: tools/%.c
	@mkdir -p $(@D)
	$(CC) $(PHX_CFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(LIBA): $(LIBOBJ)
	rm -f $@
	ar rcs $@ $(LIBOBJ)

define tool_link
$(BUILD)/tools/phx-$(1): $(patsubst %.c,$(BUILD)/%.o,$(call tool_src,$(1))) $(LIBA)
	$$(CC) $$(CFLAGS) -o $$@ $$^ $$(SANFLAGS) $$(LDFLAGS) $$(LDLIBS)
endef
$(foreach t,$(TOOLNAMES),$(eval $(call tool_link,$(t))))

UNITSRC = $(wildcard tests/unit/*.c)
$(UNIT): $(UNITSRC) $(LIBA)
	@mkdir -p $(@D)
	$(CC) $(PHX_CFLAGS) $(CFLAGS) -MMD -MP -o $@ $(UNITSRC) $(LIBA) $(SANFLAGS) $(LDFLAGS) $(LDLIBS)

-include $(LIBOBJ:.o=.d) $(patsubst %.c,$(BUILD)/%.d,$(foreach t,$(TOOLNAMES),$(call tool_src,$(t)))) $(UNIT).d

# fuzzing (tests/fuzz/): each harness NAME.c is linked twice, with
# replay.c into a plain program `make` builds (tests/fuzz-regress.t runs
# it over tests/fuzz/regress/NAME/ and the seeds) and, by `make fuzz`,
# with clang's libFuzzer under build/fuzz/, run FUZZ_SECONDS each
fuzz_deps = $(FUZZDIR)/$(1).o $(FUZZDIR)/common.o \
	$(if $(filter report,$(1)),$(REPORTOBJ)) $(LIBA)

$(FUZZDIR)/%.o: tests/fuzz/%.c
	@mkdir -p $(@D)
	$(CC) $(PHX_CFLAGS) -Itools/report $(CFLAGS) -MMD -MP -c -o $@ $<

define fuzz_link
$(FUZZDIR)/replay-$(1): $(FUZZDIR)/replay.o $(call fuzz_deps,$(1))
	$$(CC) $$(CFLAGS) -o $$@ $$^ $$(SANFLAGS) $$(LDFLAGS) $$(LDLIBS)
$(FUZZDIR)/fuzz-$(1): $(call fuzz_deps,$(1))
	$$(CC) $$(CFLAGS) -fsanitize=fuzzer -o $$@ $$^ $$(SANFLAGS) \
	    $$(LDFLAGS) $$(LDLIBS)
endef
$(foreach f,$(FUZZNAMES),$(eval $(call fuzz_link,$(f))))

-include $(FUZZNAMES:%=$(FUZZDIR)/%.d) $(FUZZDIR)/common.d $(FUZZDIR)/replay.d

fuzzers: $(FUZZERS) $(REPLAY)

# each harness FUZZ_SECONDS from its seeds (new inputs kept under
# build/fuzz/corpus/); any crash, leak, UB or failed property fails
fuzz:
	$(MAKE) BUILD=build/fuzz CC=clang CFLAGS='-O1 -g' \
	    SANFLAGS='$(FUZZSAN) -fsanitize=fuzzer-no-link' fuzzers
	@set -e; for f in $(FUZZNAMES); do \
	    mkdir -p build/fuzz/corpus/$$f build/fuzz/crash/$$f; \
	    dict=tests/fuzz/json.dict; \
	    case $$f in config|compose) dict=tests/fuzz/yaml.dict;; esac; \
	    echo "== fuzz-$$f $(FUZZ_SECONDS)s (log build/fuzz/$$f.log)"; \
	    if ! build/fuzz/tests/fuzz/fuzz-$$f -max_total_time=$(FUZZ_SECONDS) \
	        -timeout=20 -max_len=65536 -close_fd_mask=2 -dict=$$dict \
	        -print_final_stats=1 -artifact_prefix=build/fuzz/crash/$$f/ \
	        build/fuzz/corpus/$$f tests/fuzz/corpus/$$f \
	        >build/fuzz/$$f.log 2>&1; then \
	        tail -n 40 build/fuzz/$$f.log; \
	        echo "fuzz-$$f: finding in build/fuzz/crash/$$f/" >&2; exit 1; fi; \
	    grep -E '^#[0-9]+[[:space:]]+DONE|stat::number_of_executed_units|stat::average_exec_per_sec' \
	        build/fuzz/$$f.log || true; \
	done

# tests/n8n-real.t is check-n8n's; check-kube's are KUBETESTS (also
# deploy-kube-export.t, which is in check too)
KUBETESTS = tests/incluster-job.t
CHECKTESTS = $(filter-out tests/n8n-real.t $(KUBETESTS),$(wildcard tests/*.t))

check: all images-test
	PHX_BIN=$(CURDIR)/$(BUILD)/tools PHX_UNIT=$(CURDIR)/$(UNIT) \
	    $(PROVE) $(PROVEFLAGS) $(CHECKTESTS)

# tests that need neither Podman nor root
UNITTESTS = $(shell grep -L '^\. .*podman\.sh' $(CHECKTESTS))

check-unit: all
	PHX_BIN=$(CURDIR)/$(BUILD)/tools PHX_UNIT=$(CURDIR)/$(UNIT) \
	    $(PROVE) $(PROVEFLAGS) $(UNITTESTS)

check-asan:
	$(MAKE) BUILD=build/asan SAN=1 CFLAGS='-O1 -g' check \
	    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# clang's UBSan (float-cast-overflow and all) over the same suite
check-asan-clang:
	$(MAKE) BUILD=build/asan-clang CC=clang SAN=1 CFLAGS='-O1 -g' check \
	    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

lint:
	mandoc -Tlint -W warning $(MANALL)
	shellcheck -s sh pipelines/validate infra/podman/images/build \
	    pipelines/demo infra/podman/n8n-provision infra/podman/n8n-functest \
	    infra/podman/sql/n8n-init.sh

# test-only tools from npm, under the tree: SARIF validation
# (tests/secscan-sarif.t), the workflow's (tests/report-ci.t); npm comes with Debian's npm or NodeSource's nodejs
NPMDIR  = .deps/node
NPMDEPS = @microsoft/sarif-multitool@5.7.0 ajv@8.20.0 ajv-draft-04@1.0.0 \
	ajv-formats@3.0.1 @action-validator/cli@0.6.0 @action-validator/core@0.6.0

deps:
	@missing=$$({ for p in $(DEBS); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
	    grep -q 'ok installed' || echo $$p; done; \
	    command -v npm >/dev/null || echo npm; \
	    command -v kubectl >/dev/null || echo kubernetes-client; \
	    } | tr '\n' ' '); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" != 0 ]; then \
	    echo "make deps: missing Debian packages: $$missing" >&2; \
	    echo "make deps: run as root: apt-get install $$missing" >&2; \
	    exit 1; fi; \
	echo "make deps: installing $$missing"; \
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq $$missing >/dev/null
	@if [ "$$(cat $(NPMDIR)/.installed 2>/dev/null)" != "$(NPMDEPS)" ]; then \
	    echo "make deps: npm install $(NPMDEPS) into $(NPMDIR)"; \
	    rm -rf $(NPMDIR) && mkdir -p $(NPMDIR) && \
	    npm install --prefix $(NPMDIR) --no-audit --no-fund --save-exact \
	        --loglevel error $(NPMDEPS) && \
	    echo "$(NPMDEPS)" >$(NPMDIR)/.installed; fi

# images-test: what the tests need (the n8n stand-in, not n8n); images:
# those, the real n8n (a first build installs n8n from npm: ~20 min) and
# localhost/phx, phx itself from this tree's tools (image-phx)
images-test:
	CONTAINERS_CONF=$(CURDIR)/configs/podman/containers.conf \
	    sh infra/podman/images/build

images: all
	CONTAINERS_CONF=$(CURDIR)/configs/podman/containers.conf \
	    sh infra/podman/images/build httpd postgres node n8n-standin n8n phx

image-phx: all
	CONTAINERS_CONF=$(CURDIR)/configs/podman/containers.conf \
	    PHX_TOOLS=$(CURDIR)/$(BUILD)/tools sh infra/podman/images/build phx

# the real n8n, end to end (not in check: its first start alone takes
# minutes); builds the images that are missing
check-n8n: all images
	flock /tmp/phx-podman.lock env PHX_BIN=$(CURDIR)/$(BUILD)/tools \
	    PHX_UNIT=$(CURDIR)/$(UNIT) $(PROVE) -v tests/n8n-real.t

# the kube round trip, and the in-cluster Job's pod in localhost/phx
# (tests/incluster-job.t: the image built from this tree's tools, a kube
# stack of its own), alone
check-kube: all images-test image-phx
	flock /tmp/phx-podman.lock env PHX_BIN=$(CURDIR)/$(BUILD)/tools \
	    PHX_UNIT=$(CURDIR)/$(UNIT) $(PROVE) -v tests/deploy-kube-export.t $(KUBETESTS)

# the broken-stack suite's table (case, exit, verdict, reason, seconds,
# leftovers); the suite itself is part of check
broken-table: all images-test
	PHX_BIN=$(CURDIR)/$(BUILD)/tools bash tests/broken-table.sh

# make demo ENGINE=kube: the same run on infra/kube (podman kube play)
ENGINE = compose
demo: deps all images
	PATH=$(CURDIR)/tools:$$PATH PHX_DEPLOYMENT_ENGINE=$(ENGINE) sh pipelines/demo

# bench-scale (minutes: N-service stacks) is not part of bench
BENCHES = $(filter-out tests/bench/scale.sh tests/bench/prologue.sh,\
	$(wildcard tests/bench/*.sh))
bench: all images-test
	@set -e; for b in $(BENCHES); do \
	    echo "== $$b"; PHX_BIN=$(CURDIR)/$(BUILD)/tools bash $$b; done

# every stage over 10k, 100k and 1M records: time slope and peak RSS
# (a few minutes; fails on a superlinear stage or > 64 MB at <= 1 MB)
bench-stream: all
	PHX_BIN=$(CURDIR)/$(BUILD)/tools bash tests/bench/stream.sh

bench-scale: all images-test
	PHX_BIN=$(CURDIR)/$(BUILD)/tools bash tests/bench/scale.sh

# phx on the bundled manifests against podman kube play alone
bench-kube: all images-test
	PHX_BIN=$(CURDIR)/$(BUILD)/tools bash tests/bench/kube.sh

# share/phx: the configs (their compose_file pointed at the stack
# installed beside them), the bundled compose stack, Podman's
# containers.conf and the monitoring files
install: all
	mkdir -p $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
	    $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7 \
	    $(DESTDIR)$(DATADIR)/configs/deployment-validation \
	    $(DESTDIR)$(DATADIR)/configs/podman \
	    $(DESTDIR)$(DATADIR)/configs/monitoring
	# phx-validate runs the tools beside it: all in one bindir, for anyone
	for t in $(TOOLS); do install -m 755 $$t $(DESTDIR)$(BINDIR)/; done
	install -m 755 pipelines/validate $(DESTDIR)$(BINDIR)/phx-validate
	for m in $(MANALL); do s=$${m##*.}; \
	    install -m 644 $$m $(DESTDIR)$(MANDIR)/man$$s/; done
	install -m 644 configs/deployment-validation/*.yaml \
	    $(DESTDIR)$(DATADIR)/configs/deployment-validation/
	sed 's|^\( *compose_file: *\)infra/podman/|\1$(DATADIR)/infra/podman/|' \
	    configs/deployment-validation/services.yaml \
	    >$(DESTDIR)$(DATADIR)/configs/deployment-validation/services.yaml
	install -m 644 configs/podman/containers.conf \
	    $(DESTDIR)$(DATADIR)/configs/podman/
	install -m 644 configs/monitoring/* $(DESTDIR)$(DATADIR)/configs/monitoring/
	cd infra/podman && find compose.yaml sql standins www -type f | \
	    while read -r f; do install -D -m 644 "$$f" \
	        "$(DESTDIR)$(DATADIR)/infra/podman/$$f" || exit; done

uninstall:
	for t in $(TOOLNAMES:%=phx-%) phx-validate; do \
	    rm -f $(DESTDIR)$(BINDIR)/$$t; done
	for m in $(MANALL); do s=$${m##*.}; \
	    rm -f $(DESTDIR)$(MANDIR)/man$$s/$${m##*/}; done
	rm -rf $(DESTDIR)$(DATADIR)

clean:
	rm -f lib/*.[od] lib/confdir.stamp tools/*.[od] tools/*/*.[od] $(LIBA) $(TOOLS) $(UNIT) $(UNIT).d
	rm -f tests/fuzz/*.[od] $(REPLAY)
	rm -rf build

.PHONY: FORCE all fuzz fuzzers check check-unit check-asan check-asan-clang check-n8n check-kube lint deps images images-test image-phx demo bench bench-scale bench-kube bench-stream broken-table install uninstall clean
