# Makefile - build ixdp: the XDP program, ixdpd, ixdpctl, tools and tests, into build/.
#
#   make               everything (quiet; V=1 shows the commands)
#   make check         the whole test suite (tests/run.sh); root runs the namespace tests too
#   make check SANITIZE=1   the same, every binary built with ASan + UBSan into build-san/
#   make demo          build, then run the two-namespace demo (root)
#   make install       PREFIX=/usr/local DESTDIR=
#   make bench-raw     the raw reflect benchmark (root); bench-echo-rr (built-in echo),
#                      bench-echo-rr-app (native app), bench-sink, bench-pingpong

SANITIZE ?= 0
ifeq ($(SANITIZE),1)
BUILD    ?= build-san
else
BUILD    ?= build
endif
PREFIX   ?= /usr/local
DESTDIR  ?=
V        ?= 0

CC       ?= gcc
CXX      ?= g++
CLANG    ?= clang
BPFTOOL  ?= bpftool

ifeq ($(V),1)
Q :=
msg = @true
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

MULTIARCH := $(shell $(CC) -print-multiarch)
WARN      := -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers
CFLAGS    ?= -O2 -g
CFLAGS    += -std=gnu11 $(WARN) -D_GNU_SOURCE -Iinclude -Idaemon -I$(BUILD)/bpf
CXXFLAGS  ?= -O2 -g
CXXFLAGS  += -std=gnu++17 $(WARN) -D_GNU_SOURCE -Iinclude -Idaemon -I$(BUILD)/bpf
# SANITIZE=1: every C and C++ binary (daemon, libix, apps, tools, unit tests) with ASan + UBSan,
# and a report stops the process (tests/run.sh also fails any test during which one was written).
ifeq ($(SANITIZE),1)
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
CFLAGS    += $(SAN_FLAGS)
CXXFLAGS  += $(SAN_FLAGS)
endif
BPFCFLAGS := -O2 -g -Wall -Werror -target bpf -D__TARGET_ARCH_x86 -I/usr/include/$(MULTIARCH) -Iinclude
LIBS      := -lxdp -lbpf -lelf -lz -lsystemd -lmnl -lpthread -ldl
# lwIP: headers only.  Never -llwip: each worker dlopen()s its own copy (daemon/tcp/lwcopy.c), and
# the two hooks every copy must bind to are exported from the executable.
LWIP_LIB  := /usr/lib/$(MULTIARCH)/liblwip.so.0
LWIP_CFLAGS := -I/usr/include/lwip -DLWCOPY_LIB='"$(LWIP_LIB)"' -Wno-address
LWIP_HOOKS := -Wl,--export-dynamic-symbol=tcpip_try_callback \
	      -Wl,--export-dynamic-symbol=tcp_timer_needed \
	      -Wl,--export-dynamic-symbol=lwip_standard_chksum
TEST_LIBS := -lgtest -lgmock -lgtest_main -lpthread

# --- the XDP program and its skeleton ---------------------------------------------------------
BPF_OBJ  := $(BUILD)/bpf/ixdp_steer.bpf.o
BPF_SKEL := $(BUILD)/bpf/ixdp_steer.skel.h
BPF_HDRS := include/ixdp/steer.h include/ixdp/parse.h

$(BPF_OBJ): bpf/ixdp_steer.bpf.c $(BPF_HDRS) | $(BUILD)/bpf
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPFCFLAGS) -c $< -o $@

$(BPF_SKEL): $(BPF_OBJ)
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name ixdp_steer > $@.tmp && mv $@.tmp $@

# --- the daemon, in its rooms (docs/architecture.md): everything but core/main.c is a library
# that ixdpctl, the tools and the unit tests link too --------------------------------------------
DAEMON_ROOMS := core net tcp app
DAEMON_SRCS := $(filter-out daemon/core/main.c,$(foreach r,$(DAEMON_ROOMS),$(wildcard daemon/$(r)/*.c)))
DAEMON_OBJS := $(patsubst daemon/%.c,$(BUILD)/daemon/%.o,$(DAEMON_SRCS))
DAEMON_LIB  := $(BUILD)/lib/libixdpd.a
HDRS        := $(wildcard include/ixdp/*.h $(foreach r,$(DAEMON_ROOMS),daemon/$(r)/*.h))

$(BUILD)/daemon/%.o: daemon/%.c $(HDRS) $(BPF_SKEL) | $(BUILD)/daemon
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@) && $(CC) $(CFLAGS) -c $< -o $@

$(patsubst daemon/%.c,$(BUILD)/daemon/%.o,$(wildcard daemon/tcp/*.c)): CFLAGS += $(LWIP_CFLAGS)

$(DAEMON_LIB): $(DAEMON_OBJS) | $(BUILD)/lib
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/bin/ixdpd: $(BUILD)/daemon/core/main.o $(DAEMON_LIB) | $(BUILD)/bin
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) $^ -o $@ $(LIBS) $(LWIP_HOOKS)

# ixdpctl is a client of the control socket: it links the daemon library only for the socket's
# framing (core/control.c) and the configuration's defaults (core/config.c)
$(BUILD)/ixdpctl/ixdpctl.o: ixdpctl/ixdpctl.c $(HDRS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@) && $(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/bin/ixdpctl: $(BUILD)/ixdpctl/ixdpctl.o $(DAEMON_LIB) | $(BUILD)/bin
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) $^ -o $@ $(LIBS)

# --- libix: the app library (shared, versioned symbols; a static copy for the unit tests) -------
LIBIX_SRCS  := $(wildcard libix/*.c)
LIBIX_OBJS  := $(patsubst libix/%.c,$(BUILD)/libix/%.o,$(LIBIX_SRCS))
LIBIX_HDRS  := $(wildcard include/ix/*.h libix/*.h) include/ixdp/app.h include/ixdp/ctl.h
LIBIX_SO    := $(BUILD)/lib/libix.so
LIBIX_A     := $(BUILD)/lib/libix.a

$(BUILD)/libix/%.o: libix/%.c $(LIBIX_HDRS) | $(BUILD)/libix
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -fPIC -fvisibility=hidden -c $< -o $@

$(LIBIX_SO): $(LIBIX_OBJS) libix/libix.map | $(BUILD)/lib
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) -shared -Wl,-soname,libix.so.1 -Wl,--version-script=libix/libix.map \
		$(LIBIX_OBJS) -o $@.1 -lpthread && ln -sf libix.so.1 $@

$(LIBIX_A): $(LIBIX_OBJS) | $(BUILD)/lib
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^


# --- the POSIX shim: libix-preload.so (over libix) and ixdp-run ------------------------------
SHIM_SRCS := $(wildcard shim/*.c)
SHIM_OBJS := $(patsubst shim/%.c,$(BUILD)/shim/%.o,$(SHIM_SRCS))
SHIM_SO   := $(BUILD)/lib/libix-preload.so

$(BUILD)/shim/%.o: shim/%.c shim/shim.h $(LIBIX_HDRS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@) && $(CC) $(CFLAGS) -fPIC -fvisibility=hidden -c $< -o $@

$(SHIM_SO): $(SHIM_OBJS) $(LIBIX_SO) | $(BUILD)/lib
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) -shared $(SHIM_OBJS) -o $@ -L$(BUILD)/lib -Wl,-rpath,'$$ORIGIN' \
		-lix -ldl -lpthread

$(BUILD)/bin/ixdp-run: shim/ixdp-run.sh | $(BUILD)/bin
	$(call msg,GEN,$@)
	$(Q)install -m 0755 $< $@

# --- apps on libix: apps/NAME/main.c -> build/bin/ix-NAME; every other apps/*/*.c (common/:
# what the servers share) also goes into libixapps.a, which the apps and the unit tests link ------
APPS        := $(patsubst apps/%/main.c,%,$(wildcard apps/*/main.c))
APP_BINS    := $(patsubst %,$(BUILD)/bin/ix-%,$(APPS))
APP_HDRS    := $(wildcard apps/*/*.h)
APPLIB_OBJS := $(patsubst apps/%.c,$(BUILD)/apps/%.o,$(filter-out %/main.c,$(wildcard apps/*/*.c)))
APPLIB      := $(BUILD)/lib/libixapps.a

$(BUILD)/apps/%.o: apps/%.c $(APP_HDRS) $(LIBIX_HDRS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@) && $(CC) $(CFLAGS) -Iapps -c $< -o $@

$(APPLIB): $(APPLIB_OBJS) | $(BUILD)/lib
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

app_objs = $(patsubst apps/%.c,$(BUILD)/apps/%.o,$(wildcard apps/$(1)/*.c))

.SECONDEXPANSION:
$(BUILD)/bin/ix-%: $$(call app_objs,$$*) $(APPLIB) $(LIBIX_SO) | $(BUILD)/bin
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) $(filter %.o %.a,$^) -o $@ -L$(BUILD)/lib -Wl,-rpath,'$$ORIGIN/../lib' \
		-lix -lpthread

# --- test tools (traffic for the namespace tests) and bench tools ------------------------------
TOOLS := $(BUILD)/bin/ixdp-nettool $(BUILD)/bin/ixdp-hostile-app $(BUILD)/bin/ixdp-move-echo \
	 $(BUILD)/bin/ixdp-shim-probe

$(BUILD)/bin/ixdp-nettool: tests/tools/nettool.c $(HDRS) $(DAEMON_LIB) | $(BUILD)/bin
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< -o $@ $(DAEMON_LIB) $(LIBS) -lm

$(BUILD)/bin/ixdp-hostile-app: tests/tools/hostile_app.c $(HDRS) | $(BUILD)/bin
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< -o $@

$(BUILD)/bin/ixdp-shim-probe: tests/tools/shim_probe.c | $(BUILD)/bin
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< -o $@

$(BUILD)/bin/ixdp-move-echo: tests/tools/move_echo.c $(LIBIX_HDRS) $(LIBIX_SO) | $(BUILD)/bin
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< -o $@ -L$(BUILD)/lib -Wl,-rpath,'$$ORIGIN/../lib' -lix -lpthread

# --- benchmark tools: bench/NAME.c -> build/bench/NAME, bench/NAME.bpf.c -> build/bench/NAME.bpf.o
BENCH_BPF  := $(patsubst bench/%.bpf.c,$(BUILD)/bench/%.bpf.o,$(wildcard bench/*.bpf.c))
BENCH_BINS := $(patsubst bench/%.c,$(BUILD)/bench/%,$(filter-out %.bpf.c,$(wildcard bench/*.c)))

BENCH_HDRS := $(wildcard bench/*.h)

$(BUILD)/bench/%.bpf.o: bench/%.bpf.c $(BPF_HDRS) $(BENCH_HDRS) | $(BUILD)/bench
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPFCFLAGS) -c $< -o $@

$(BUILD)/bench/%: bench/%.c $(HDRS) $(BENCH_HDRS) $(DAEMON_LIB) $(BENCH_BPF) | $(BUILD)/bench
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< -o $@ $(DAEMON_LIB) $(BENCH_LIBS) $(LIBS) -lm

# rr_client -X connects through libix: the static copy, so the tool runs from anywhere
$(BUILD)/bench/rr_client: $(LIBIX_A) $(LIBIX_HDRS)
$(BUILD)/bench/rr_client: BENCH_LIBS := $(LIBIX_A) -lpthread

# --- unit tests (GoogleTest) ---------------------------------------------------------------------
UNIT_SRCS  := $(wildcard tests/unit/*_test.cc)
UNIT_BINS  := $(patsubst tests/unit/%.cc,$(BUILD)/tests/%,$(UNIT_SRCS))
UNIT_HDRS  := $(wildcard tests/unit/*.h)

$(BUILD)/tests/%: tests/unit/%.cc $(UNIT_HDRS) $(HDRS) $(LIBIX_HDRS) $(APP_HDRS) $(DAEMON_LIB) \
		  $(LIBIX_A) $(APPLIB) | $(BUILD)/tests
	$(call msg,CXX,$@)
	$(Q)$(CXX) $(CXXFLAGS) -Iapps $(LWIP_CFLAGS) $< -o $@ $(DAEMON_LIB) $(LIBIX_A) $(APPLIB) \
		$(TEST_LIBS) $(LIBS) $(LWIP_HOOKS)

# --- fuzz targets (libFuzzer + ASan + UBSan): each links the daemon sources it exercises --------
FUZZ_BINS    := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(wildcard tests/fuzz/*_fuzz.c))
FUZZ_CFLAGS  := -g -O1 -std=gnu11 $(WARN) -D_GNU_SOURCE -Iinclude -Idaemon -Iapps \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined

$(BUILD)/fuzz/parse_fuzz: daemon/net/reflect.c
$(BUILD)/fuzz/config_fuzz: daemon/core/config.c daemon/core/log.c
$(BUILD)/fuzz/kv_fuzz: apps/kv/proto.c apps/kv/store.c
$(BUILD)/fuzz/chan_fuzz: daemon/app/chan.c daemon/core/log.c
$(BUILD)/fuzz/attach_fuzz: daemon/core/control.c daemon/app/apps.c daemon/app/listen.c \
			   daemon/net/netif.c \
			   daemon/net/ports.c daemon/net/rtnl.c daemon/core/log.c
$(BUILD)/fuzz/attach_fuzz: FUZZ_LIBS := -lmnl
$(BUILD)/fuzz/tcp_fuzz: $(wildcard daemon/tcp/*.c) daemon/core/log.c
$(BUILD)/fuzz/tcp_fuzz: FUZZ_CFLAGS += $(LWIP_CFLAGS)
$(BUILD)/fuzz/tcp_fuzz: FUZZ_LIBS := -ldl -lpthread $(LWIP_HOOKS)

$(BUILD)/fuzz/%_fuzz: tests/fuzz/%_fuzz.c $(HDRS) | $(BUILD)/fuzz
	$(call msg,FUZZ,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) $(filter %.c,$^) -o $@ $(FUZZ_LIBS)

fuzz: $(FUZZ_BINS)

# --- top-level targets ---------------------------------------------------------------------------
BINS := $(BUILD)/bin/ixdpd $(BUILD)/bin/ixdpctl $(LIBIX_SO) $(APP_BINS) $(SHIM_SO) \
	$(BUILD)/bin/ixdp-run

all: $(BINS) $(BPF_OBJ) $(TOOLS) $(BENCH_BINS) $(BENCH_BPF)

tests: all $(UNIT_BINS) $(FUZZ_BINS)

# check and demo install the Debian packages first (scripts/install-deps.sh: as root it installs
# what is missing, otherwise it names it and stops), then build in a second make, so that nothing
# is compiled before the headers exist.
deps:
	$(Q)scripts/install-deps.sh

check: deps
	$(Q)$(MAKE) --no-print-directory tests
	$(Q)BUILD=$(BUILD) SANITIZE=$(SANITIZE) tests/run.sh

bench-raw: all
	$(Q)BUILD=$(BUILD) bench/raw.sh

bench-echo-rr: all
	$(Q)BUILD=$(BUILD) IXSYS=ixdp bench/echo_rr.sh

bench-echo-rr-app: all
	$(Q)BUILD=$(BUILD) IXSYS=ixapp bench/echo_rr.sh

bench-sink: all
	$(Q)BUILD=$(BUILD) bench/sink.sh

bench-pingpong: all
	$(Q)BUILD=$(BUILD) bench/pingpong.sh

bench-kv: all
	$(Q)BUILD=$(BUILD) bench/kv.sh

bench-echo-rr-shim: all
	$(Q)BUILD=$(BUILD) IXSYS=shim bench/echo_rr.sh

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)BUILD=$(BUILD) scripts/demo.sh

install: all
	$(call msg,INSTALL,$(DESTDIR)$(PREFIX))
	$(Q)install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin \
		$(DESTDIR)$(PREFIX)/lib/ixdp $(DESTDIR)$(PREFIX)/lib/pkgconfig \
		$(DESTDIR)$(PREFIX)/include/ix $(DESTDIR)$(PREFIX)/share/doc/ixdp
	$(Q)install -m 0755 $(BUILD)/bin/ixdpd $(DESTDIR)$(PREFIX)/sbin/ixdpd
	$(Q)install -m 0755 $(BUILD)/bin/ixdpctl $(APP_BINS) $(DESTDIR)$(PREFIX)/bin/
	$(Q)install -m 0755 $(LIBIX_SO).1 $(DESTDIR)$(PREFIX)/lib/libix.so.1
	$(Q)ln -sf libix.so.1 $(DESTDIR)$(PREFIX)/lib/libix.so
	$(Q)install -m 0755 $(SHIM_SO) $(DESTDIR)$(PREFIX)/lib/libix-preload.so
	$(Q)install -m 0755 $(BUILD)/bin/ixdp-run $(DESTDIR)$(PREFIX)/bin/ixdp-run
	$(Q)sed 's|@PREFIX@|$(PREFIX)|g' libix/libix.pc.in >$(DESTDIR)$(PREFIX)/lib/pkgconfig/libix.pc
	$(Q)install -m 0644 include/ix/*.h $(DESTDIR)$(PREFIX)/include/ix/
	$(Q)install -m 0644 $(BPF_OBJ) $(DESTDIR)$(PREFIX)/lib/ixdp/ixdp_steer.bpf.o
	$(Q)install -m 0644 README.md docs/*.md $(DESTDIR)$(PREFIX)/share/doc/ixdp/

clean:
	$(call msg,CLEAN,$(BUILD))
	$(Q)rm -rf $(BUILD)

$(BUILD)/bpf $(BUILD)/daemon $(BUILD)/libix $(BUILD)/lib $(BUILD)/bin $(BUILD)/tests $(BUILD)/bench \
$(BUILD)/fuzz:
	$(Q)mkdir -p $@

.PHONY: all tests fuzz check demo deps bench-raw bench-echo-rr bench-echo-rr-app bench-sink bench-pingpong bench-kv bench-echo-rr-shim install clean
.DEFAULT_GOAL := all
.DELETE_ON_ERROR:
.SECONDARY:	# keep the apps' objects (pattern-rule intermediates) between builds
