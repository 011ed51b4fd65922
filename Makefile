# cidlb: one plain Makefile. `make` builds everything into build/,
# `make test` runs every test, `make bench` prints the performance table.
# V=1 shows the commands.

BUILD   ?= build
PREFIX  ?= /usr/local
VERSION := 0.1.0
# where the BPF objects go; cidlbd and cidlb look there (CIDLB_LIBDIR)
LIBDIR  := $(PREFIX)/lib/cidlb
CLANG   ?= clang
CC      ?= gcc
AR      ?= ar

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

.DELETE_ON_ERROR:
.SUFFIXES:
.SECONDARY:

# ---- flags -------------------------------------------------------------
# -fno-strict-aliasing everywhere, as the kernel builds: keys made of
# octets are hashed and compared as 4- and 8-octet words (include/
# cidlb_hash.h, bpf/), which strict aliasing would let the compiler
# reorder or drop (seen: gcc -O2 hashed a key it had not yet written).
ARCH_INC := -I/usr/include/$(shell $(CC) -dumpmachine)
BPF_CFLAGS := -g -O2 -target bpf -fno-strict-aliasing -Wall -Wextra -Werror -Wno-unused-parameter \
	-Iinclude -Ibpf $(ARCH_INC) -mcpu=v3 -mllvm -pre-RA-sched=source
CFLAGS  ?= -O2 -g
UCFLAGS := $(CFLAGS) -std=gnu11 -fno-strict-aliasing -Wall -Wextra -Werror -Wno-missing-field-initializers \
	-Iinclude -Iuser -Itests/lib -D_GNU_SOURCE -fPIC -DCIDLB_LIBDIR='"$(LIBDIR)"' $(EXTRA_CFLAGS)
LDLIBS_BPF := -lbpf -lelf -lz
LDLIBS_SSL := -lcrypto

# ---- sources (each folder is picked up whole) --------------------------
BPF_SRCS    := $(wildcard bpf/*.bpf.c)
BPF_OBJS    := $(patsubst bpf/%.bpf.c,$(BUILD)/%.bpf.o,$(BPF_SRCS))
BPF_HDRS    := $(wildcard bpf/*.h) $(wildcard include/*.h)
TBPF_SRCS   := $(wildcard tests/bpf/*.bpf.c)
TBPF_OBJS   := $(patsubst tests/bpf/%.bpf.c,$(BUILD)/tests/%.bpf.o,$(TBPF_SRCS))
HDRS        := $(wildcard include/*.h include/cidlb/*.h user/*/*.h tests/lib/*.h tools/cidlb/*.h)

LIB_SRCS    := $(wildcard user/lib/*.c)
LIB_OBJS    := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_SRCS))
CTL_SRCS    := $(wildcard user/ctl/*.c)
CTL_OBJS    := $(patsubst %.c,$(BUILD)/obj/%.o,$(CTL_SRCS))
DAEMON_SRCS := $(wildcard user/daemon/*.c)
DAEMON_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(DAEMON_SRCS))
TOOL_SRCS   := $(wildcard tools/cidlb/*.c)
TOOL_OBJS   := $(patsubst %.c,$(BUILD)/obj/%.o,$(TOOL_SRCS))
TLIB_SRCS   := $(wildcard tests/lib/*.c)
TLIB_OBJS   := $(patsubst %.c,$(BUILD)/obj/%.o,$(TLIB_SRCS))
TEST_SRCS   := $(wildcard tests/unit/test_*.c tests/bpf/test_*.c)
TEST_BINS   := $(patsubst %.c,$(BUILD)/tests/%,$(notdir $(TEST_SRCS)))
EX_SRCS     := $(wildcard examples/*.c)
EX_BINS     := $(patsubst examples/%.c,$(BUILD)/examples/%,$(EX_SRCS))

LIBCIDLB_A  := $(BUILD)/libcidlb.a
LIBCIDLB_SO := $(BUILD)/libcidlb.so
LIBCTL_A    := $(BUILD)/libcidlbctl.a
LIBTEST_A   := $(BUILD)/libcidlbtest.a

TARGETS := $(BPF_OBJS)
ifneq ($(LIB_SRCS),)
TARGETS += $(LIBCIDLB_A) $(LIBCIDLB_SO) $(BUILD)/cidlb.pc $(BUILD)/include/cidlb/cidlb.h
endif
ifneq ($(DAEMON_SRCS),)
TARGETS += $(BUILD)/cidlbd
endif
ifneq ($(TOOL_SRCS),)
TARGETS += $(BUILD)/cidlb
endif

.PHONY: all test tests bench demo clean deps install info check fuzz lint format format-check e2e-bins
.PHONY: man
all: $(TARGETS)

# ---- BPF -----------------------------------------------------------------
$(BUILD)/%.bpf.o: bpf/%.bpf.c $(BPF_HDRS) | $(BUILD)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

# BPF programs that exist only for tests (probes around a helper).
$(BUILD)/tests/%.bpf.o: tests/bpf/%.bpf.c $(BPF_HDRS)
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

# ---- userspace objects -----------------------------------------------------
# PREFIX is compiled in (CIDLB_LIBDIR): a build for another PREFIX in the
# same $(BUILD) compiles again.
PREFIX_STAMP := $(BUILD)/.prefix
ifneq ($(shell cat $(PREFIX_STAMP) 2>/dev/null),$(PREFIX))
.PHONY: $(PREFIX_STAMP)
endif
$(PREFIX_STAMP):
	$(Q)mkdir -p $(dir $@) && echo '$(PREFIX)' > $@

$(BUILD)/obj/%.o: %.c $(HDRS) $(PREFIX_STAMP)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(UCFLAGS) -c $< -o $@

$(LIBCIDLB_A): $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(LIBCIDLB_SO): $(LIB_OBJS)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -shared -Wl,-soname,libcidlb.so.0 -o $@ $^ $(LDLIBS_SSL) -lpthread

$(LIBCTL_A): $(CTL_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(LIBTEST_A): $(TLIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(BUILD)/include/cidlb/cidlb.h: include/cidlb/cidlb.h
	$(Q)mkdir -p $(dir $@) && cp $< $@

$(BUILD)/cidlb.pc: Makefile | $(BUILD)
	$(call msg,GEN,$@)
	$(Q)printf 'prefix=%s\nlibdir=$${prefix}/lib\nincludedir=$${prefix}/include\n\nName: cidlb\nDescription: QUIC-LB connection IDs for QUIC servers behind cidlb\nVersion: $(VERSION)\nLibs: -L$${libdir} -lcidlb\nLibs.private: -lcrypto -lpthread\nCflags: -I$${includedir}\n' '$(PREFIX)' > $@

USER_LIBS := $(LIBCTL_A) $(LIBCIDLB_A)
USER_LDLIBS := $(LDLIBS_BPF) $(LDLIBS_SSL) -lxdp -linih -ljansson -lmicrohttpd -lpthread -lm

$(BUILD)/cidlbd: $(DAEMON_OBJS) $(USER_LIBS)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(USER_LDLIBS)

$(BUILD)/cidlb: $(TOOL_OBJS) $(USER_LIBS)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(USER_LDLIBS)

# ---- tests -----------------------------------------------------------------
$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(LIBTEST_A) $(USER_LIBS)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(USER_LDLIBS) -lcmocka

$(BUILD)/tests/%: $(BUILD)/obj/tests/bpf/%.o $(LIBTEST_A) $(USER_LIBS)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(USER_LDLIBS) -lcmocka

$(BUILD)/examples/%: examples/%.c $(LIBCIDLB_A) $(BUILD)/include/cidlb/cidlb.h
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(UCFLAGS) -I$(BUILD)/include -o $@ $< $(LIBCIDLB_A) \
		$(shell pkg-config --cflags --libs libngtcp2_crypto_gnutls 2>/dev/null) \
		$(shell pkg-config --cflags --libs libngtcp2 2>/dev/null) $(LDLIBS_SSL) -lpthread

# ---- the data path built in userspace: twin test and fuzzers -------------
# tests/fuzz/shim stands in for libbpf's BPF headers, so bpf/*.h compile
# into an ordinary program (tests/fuzz/twin.c).
TWIN_CFLAGS := -g -O1 -std=gnu11 -fno-strict-aliasing -Wall -Wextra -Werror -Wno-unused-parameter \
	-Wno-unknown-pragmas -Wno-address-of-packed-member -D_GNU_SOURCE \
	-Itests/fuzz/shim -Ibpf -Iinclude -Iuser -Itests/lib -Itests/fuzz
# Packet headers sit at any alignment (IPv4 at offset 14), as in the
# kernel: the alignment check of UBSan does not apply to them.
FUZZ_FLAGS  := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-fno-sanitize=alignment
TWIN_SRCS   := tests/fuzz/twin.c tests/fuzz/fixture.c tests/lib/tpkt.c user/ctl/viptab.c
FUZZ_BINS   := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))

$(BUILD)/tests/test_twin: tests/fuzz/test_twin.c $(TWIN_SRCS) $(BPF_HDRS) $(LIBTEST_A) $(USER_LIBS)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CLANG) $(TWIN_CFLAGS) $(LDFLAGS) -o $@ tests/fuzz/test_twin.c $(TWIN_SRCS) \
		$(LIBTEST_A) $(USER_LIBS) $(USER_LDLIBS) -lcmocka

$(BUILD)/fuzz/fuzz_libcidlb: tests/fuzz/fuzz_libcidlb.c $(LIB_SRCS) $(HDRS)
	$(call msg,FUZZ,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CLANG) $(TWIN_CFLAGS) $(FUZZ_FLAGS) -o $@ $< $(LIB_SRCS) $(LDLIBS_SSL) -lpthread

$(BUILD)/fuzz/%: tests/fuzz/%.c $(TWIN_SRCS) $(BPF_HDRS) $(LIB_SRCS)
	$(call msg,FUZZ,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CLANG) $(TWIN_CFLAGS) $(FUZZ_FLAGS) -o $@ $< $(TWIN_SRCS) $(LIB_SRCS) \
		$(LDLIBS_SSL) -lpthread

comma := ,
# The control plane: the configuration parser (key_file served from
# memory: fopen is the fuzzer's), and the control requests of cidlbd on the
# maps of the real object (tests/fuzz/fuzz_control.c; needs root to run).
$(BUILD)/fuzz/fuzz_config: tests/fuzz/fuzz_config.c user/ctl/config.c $(LIB_SRCS) $(HDRS)
	$(call msg,FUZZ,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CLANG) $(TWIN_CFLAGS) $(FUZZ_FLAGS) -Dfopen=fuzz_fopen -o $@ $< user/ctl/config.c \
		$(LIB_SRCS) -linih $(LDLIBS_SSL) -lpthread

# the daemon's state file, as read at adoption and by `cidlb stats`
$(BUILD)/fuzz/fuzz_statefile: tests/fuzz/fuzz_statefile.c user/ctl/statefile.c user/ctl/config.c \
		$(LIB_SRCS) $(HDRS)
	$(call msg,FUZZ,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CLANG) $(TWIN_CFLAGS) $(FUZZ_FLAGS) -o $@ $< user/ctl/statefile.c user/ctl/config.c \
		$(LIB_SRCS) -linih -ljansson $(LDLIBS_SSL) -lpthread

FUZZ_CTL_SRCS := $(CTL_SRCS) user/daemon/ctl.c user/daemon/apply.c user/daemon/retire.c \
	user/daemon/health.c user/daemon/announce.c
# every map writer of lb.h, counted by the fuzzer
FUZZ_CTL_WRAP := $(patsubst %,-Wl$(comma)--wrap=cidlb_lb_%,set_vip del_vip set_config \
	set_backend set_sid del_sid set_global publish_maglev retire_ex unretire expire \
	refresh_global add_tx_port del_tx_port set_neigh del_neigh reset_counters)
$(BUILD)/fuzz/fuzz_control: tests/fuzz/fuzz_control.c $(FUZZ_CTL_SRCS) $(LIB_SRCS) $(HDRS)
	$(call msg,FUZZ,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CLANG) $(TWIN_CFLAGS) $(FUZZ_FLAGS) -Wno-missing-field-initializers -o $@ $< \
		$(FUZZ_CTL_SRCS) $(LIB_SRCS) $(FUZZ_CTL_WRAP) $(USER_LDLIBS)

fuzz: $(FUZZ_BINS)
	$(Q)BUILD=$(BUILD) FUZZ_SECONDS=$${FUZZ_SECONDS:-600} tests/fuzz/run

# ---- end-to-end tests (tests/e2e/, owned by the e2e tests) ------------------
# The LD_PRELOAD shim that gives Debian's gtlsserver routable CIDs (built
# on libcidlb), a pass-only XDP program for the veth peers of cidlb's
# interfaces, and a certificate maker for the test servers.
E2E_DIR  := $(BUILD)/e2e
E2E_BINS := $(E2E_DIR)/cid_shim.so $(E2E_DIR)/token_file_shim.so $(E2E_DIR)/xdp_pass.bpf.o \
	    $(E2E_DIR)/mkcert

$(E2E_DIR)/token_file_shim.so: tests/e2e/token_file_shim.c
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(UCFLAGS) -shared -o $@ $< -ldl

$(E2E_DIR)/cid_shim.so: tests/e2e/cid_shim.c $(LIBCIDLB_A) include/cidlb/cidlb.h
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(UCFLAGS) -shared -o $@ $< $(LIBCIDLB_A) $(LDLIBS_SSL) -lpthread -ldl

$(E2E_DIR)/xdp_pass.bpf.o: tests/e2e/xdp_pass.bpf.c
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(E2E_DIR)/mkcert: tests/e2e/mkcert.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(UCFLAGS) -o $@ $< $(LDLIBS_SSL)

tests e2e-bins: $(E2E_BINS)
# ---- end of the end-to-end block ---------------------------------------------

tests: all bench-objects $(TBPF_OBJS) $(TEST_BINS) $(EX_BINS) $(BUILD)/tests/test_twin $(FUZZ_BINS)

# `make test` and `make demo` work on a fresh machine: the Debian packages
# first (tools/install-deps: at once when all are there; needs root to
# install), then the build (a sub-make, so nothing compiles before them).
# Every test, then `make check` (cppcheck, the unit and BPF tests again
# under ASan/UBSan): CI runs this.
test: deps
	$(Q)$(MAKE) --no-print-directory tests
	$(Q)BUILD=$(BUILD) tests/run
	$(Q)$(MAKE) --no-print-directory check

# make bench PEER='CMD' [SIDE_BY_SIDE_ARGS='--runs N --rounds R --update-doc']:
# cidlb's bench and a peer command alternately (tools/bench/side_by_side.sh).
bench: all
	$(Q)if [ -n "$$PEER" ]; then BUILD=$(BUILD) tools/bench/side_by_side.sh \
		$(SIDE_BY_SIDE_ARGS) "$$PEER"; else BUILD=$(BUILD) tools/bench/run; fi

demo: deps
	$(Q)$(MAKE) --no-print-directory all e2e-bins
	$(Q)BUILD=$(BUILD) tools/demo

# Kernel style (.clang-format) applied to every C file we write;
# bpf/aes_tables.h is generated data, left as it is.
FORMAT_SRCS = $(filter-out bpf/aes_tables.h,$(shell git ls-files '*.c' '*.h' 2>/dev/null))
format:
	$(Q)clang-format -i $(FORMAT_SRCS)

# The same without writing: lists the files that differ from the style and
# fails if there is one (part of make check).
format-check:
	$(Q)bad=0; for f in $(FORMAT_SRCS); do \
		clang-format $$f | cmp -s - $$f || { echo "format: $$f (make format)"; bad=1; }; \
	done; exit $$bad

# ---- make deb: cidlb_$(VERSION)_ARCH.deb and cidlb-dev (tools/mkdeb) ----------
# A build of its own for PREFIX=/usr with Debian's hardening flags, in
# $(BUILD)/deb/build, installed into $(BUILD)/deb/stage and packaged with
# dpkg-deb; lintian finds no error in either package (tests/unit/test_deb.sh).
DEB_DIR := $(BUILD)/deb
DEB_MAINTAINER ?= $(shell git log -1 --format='%an <%ae>' 2>/dev/null)
DEB_FLAGS := BUILD=$(DEB_DIR)/build PREFIX=/usr \
	CFLAGS="-O2 -g -D_FORTIFY_SOURCE=2 -fstack-protector-strong" LDFLAGS="-Wl,-z,relro -Wl,-z,now"
.PHONY: deb
deb:
	$(Q)$(MAKE) --no-print-directory $(DEB_FLAGS) all man
	$(Q)rm -rf $(DEB_DIR)/stage
	$(Q)$(MAKE) --no-print-directory $(DEB_FLAGS) DESTDIR=$(abspath $(DEB_DIR)/stage) install >/dev/null
	$(Q)tools/mkdeb $(DEB_DIR)/stage $(DEB_DIR) $(VERSION) "$(DEB_MAINTAINER)"

# Static checks of the userspace code: cppcheck must find nothing.
lint:
	$(Q)cppcheck -q --enable=warning,portability,performance --inline-suppr \
		--error-exitcode=1 --std=c11 -Iinclude -Iuser -Itools/cidlb -Itests/lib \
		-D_GNU_SOURCE --suppress=missingIncludeSystem --suppress=unknownMacro \
		user/ tools/cidlb tools/bench/main.c tools/bench/live.c tests/lib
	@echo "lint: cppcheck found nothing in user/, tools/ and tests/lib"

check: lint format-check
	$(Q)$(MAKE) --no-print-directory BUILD=build/asan \
		EXTRA_CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer" \
		LDFLAGS="-fsanitize=address,undefined" tests
	$(Q)BUILD=build/asan tests/run --unit-only

# Stack use and verifier statistics of every program.
info: all
	$(Q)tools/prog-info $(BPF_OBJS)

deps:
	$(Q)tools/install-deps

# ---- manual pages (docs/man/*.scd, scdoc) ------------------------------------
# cidlb(8), cidlbd(8), cidlb.conf(5) into $(BUILD)/man/. The KEYS section of
# cidlb.conf(5) is generated from the parser's key table (`cidlb -j config
# keys`, tools/man-keys), so that the page lists exactly the keys cidlbd
# reads. Part of `all` when scdoc is installed (tools/install-deps).
DOCDIR   := $(PREFIX)/share/doc/cidlb
MAN_SRCS := $(wildcard docs/man/*.scd)
MAN_PAGES := $(patsubst docs/man/%.scd,$(BUILD)/man/%,$(MAN_SRCS))
# bash completion of cidlb (tools/bash-completion/cidlb)
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
MAN_SED  := sed -e 's|@LIBDIR@|$(LIBDIR)|g' -e 's|@DOCDIR@|$(DOCDIR)|g'
ifneq ($(shell command -v scdoc 2>/dev/null),)
all: $(MAN_PAGES)
endif

man: $(MAN_PAGES)
need_scdoc = @command -v scdoc >/dev/null || { echo "make: $@ needs scdoc (Debian package scdoc; tools/install-deps installs it)" >&2; exit 1; }

$(BUILD)/man/cidlb.conf.5: docs/man/cidlb.conf.5.scd tools/man-keys $(BUILD)/cidlb
	$(need_scdoc)
	$(call msg,MAN,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(BUILD)/cidlb -j config keys > $@.keys.json
	$(Q)tools/man-keys $< < $@.keys.json > $@.scd
	$(Q)$(MAN_SED) $@.scd | scdoc > $@
	$(Q)rm -f $@.keys.json $@.scd

$(BUILD)/man/%: docs/man/%.scd
	$(need_scdoc)
	$(call msg,MAN,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(MAN_SED) $< | scdoc > $@

install: all man
	install -d $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include/cidlb \
		$(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/cidlb \
		$(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)$(PREFIX)/share/man/man8 \
		$(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(DOCDIR)/examples/bird $(DESTDIR)$(BASHCOMPDIR)
	install -m 644 $(LIBCIDLB_A) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(LIBCIDLB_SO) $(DESTDIR)$(PREFIX)/lib/libcidlb.so.0
	ln -sf libcidlb.so.0 $(DESTDIR)$(PREFIX)/lib/libcidlb.so
	install -m 644 include/cidlb/cidlb.h $(DESTDIR)$(PREFIX)/include/cidlb/
	sed 's|^prefix=.*|prefix=$(PREFIX)|' $(BUILD)/cidlb.pc > $(DESTDIR)$(PREFIX)/lib/pkgconfig/cidlb.pc
	install -m 644 $(BPF_OBJS) $(DESTDIR)$(PREFIX)/lib/cidlb/
	[ ! -f $(BUILD)/cidlbd ] || install -m 755 $(BUILD)/cidlbd $(DESTDIR)$(PREFIX)/sbin/
	[ ! -f $(BUILD)/cidlb ] || install -m 755 $(BUILD)/cidlb $(DESTDIR)$(PREFIX)/bin/
	install -m 644 $(filter %.5,$(MAN_PAGES)) $(DESTDIR)$(PREFIX)/share/man/man5/
	install -m 644 $(filter %.8,$(MAN_PAGES)) $(DESTDIR)$(PREFIX)/share/man/man8/
	install -m 644 docs/operations.md docs/fleet.md README.md $(DESTDIR)$(DOCDIR)/
	install -m 644 examples/cidlb.conf examples/cidlbd.service $(DESTDIR)$(DOCDIR)/examples/
	install -m 644 examples/bird/cidlb-lb.conf examples/bird/cidlb-router.conf \
		$(DESTDIR)$(DOCDIR)/examples/bird/
	install -m 644 tools/bash-completion/cidlb $(DESTDIR)$(BASHCOMPDIR)/cidlb

$(BUILD):
	$(Q)mkdir -p $@

clean:
	rm -rf build

# ---- make bench (tools/bench) ----------------------------------------------
# tools/bench/*.bpf.c -> $(BUILD)/bench/*.bpf.o: the harness around the real
# data path and the floors (cidlb_bench), the veth generator and counter
# (bench_live). tools/bench/*.c -> $(BUILD)/bench/cidlb-bench, the driver
# that tools/bench/run calls; it reuses the packet builders of
# $(BUILD)/libcidlbtest.a. Not part of `all` or `tests`.
BENCH_BPF_OBJS := $(patsubst tools/bench/%.bpf.c,$(BUILD)/bench/%.bpf.o,$(wildcard tools/bench/*.bpf.c))
BENCH_SRCS     := $(filter-out %.bpf.c,$(wildcard tools/bench/*.c))
BENCH_OBJS     := $(patsubst %.c,$(BUILD)/obj/%.o,$(BENCH_SRCS))
BENCH_HDRS     := $(wildcard tools/bench/*.h)

$(BUILD)/bench/%.bpf.o: tools/bench/%.bpf.c $(BENCH_HDRS) $(BPF_HDRS)
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -Itools/bench -c $< -o $@

$(BUILD)/obj/tools/bench/%.o: tools/bench/%.c $(BENCH_HDRS) $(HDRS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(UCFLAGS) -Itools/bench -c $< -o $@

$(BUILD)/bench/cidlb-bench: $(BENCH_OBJS) $(LIBTEST_A) $(USER_LIBS)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(USER_LDLIBS)

bench: bench-objects
.PHONY: bench-objects
bench-objects: $(BENCH_BPF_OBJS) $(BUILD)/bench/cidlb-bench

# ---- make soak (tests/soak, owned by the soak test) -------------------------
# The long soak: 5 minutes of traffic from thousands of simulated clients
# through cidlb on veth while backends are added, drained, removed, CIDs
# retired, configs rotated and reloaded (SOAK_SECONDS to change it). The
# short version (30 s) is tests/soak/test_soak.sh, part of `make test`.
.PHONY: soak
soak: all
	$(Q)BUILD=$(BUILD) SOAK_SECONDS=$${SOAK_SECONDS:-300} bash tests/soak/test_soak.sh
# ---- end of the soak block ---------------------------------------------------
