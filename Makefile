# pfsd - the top-level Makefile is the entry point: on a fresh clone it
# installs missing Debian build dependencies (make deps), runs autoreconf and
# configure when needed, then builds.  configure writes config.mak.autogen.
#
#   make            build daemon/pfsd and the shipped handlers
#   make run        build and serve the echo handler on 127.0.0.1:20203
#   make check      build and run every test (SANITIZE=1: ASan+UBSan build)
#   make check-repeat  the whole suite N (20) times: flaky tests
#   make check-big  the serialize suite with a pool of 4096 children
#   make bench-scale  cost by pool size and serialize mode (also in bench)
#   make soak       the soak tests at full size (SOAK_COUNT=100000 connections,
#                   100 rolled-back HUPs)
#   make valgrind   the parent's whole life under valgrind (also in check),
#                   and the TLS relay under it (only here)
#   make fuzz       run the libFuzzer targets, FUZZ_SECONDS (60) each
#   make deps       install the Debian packages of DEPS_DEB (deps-list prints it)
#   make mutate     break pfsd on purpose (tests/mutants): the mutation score
#   make install    PREFIX=/usr/local DESTDIR=

PREFIX		?= /usr/local
BINDIR		?= $(PREFIX)/sbin
LIBDIR		?= $(PREFIX)/lib
INCLUDEDIR	?= $(PREFIX)/include
MANDIR		?= $(PREFIX)/share/man
SYSCONFDIR	?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
PKGCONFIGDIR	?= $(LIBDIR)/pkgconfig
PLUGINDIR	?= $(LIBDIR)/pfsd/plugins
UNITDIR		?= $(LIBDIR)/systemd/system
# The installed pfsd.service is Type=notify-reload on systemd >= 253,
# Type=notify with ExecReload before (conf/pfsd.service says why).
SYSTEMD_VERSION	?= $(shell systemctl --version 2>/dev/null | \
		   sed -n '1s/^systemd \([0-9]*\).*/\1/p')

# Every Debian package the build, make check, make fuzz and .ci/run use
# (make deps installs them).  .ci/run proves the list complete: it traces
# what its runs execute and open, and tests/deps-check.sh fails naming any
# package that is neither here, nor Essential, nor a dependency of these.
#   automake	aclocal, for autoreconf
#   perl, libnet-server-perl, libnet-cidr-perl	the tests compare pfsd's
#		decisions with Net::Server's own
#   netbase	/etc/services: "port localhost:http" in the tests
#   systemd	systemd-analyze verify of conf/pfsd.service in the tests
#   procps	/bin/kill, pfsd.service's ExecReload (systemd-analyze checks it)
#   ca-certificates	the system CA store haproxy loads at start
#   clang, libclang-rt-14-dev	make fuzz (clang's libFuzzer)
#   strace	tests/deps-check.sh
#   haproxy, nginx-light, libnginx-mod-stream	balancers in front of
#		pfsd in the PROXY protocol tests
#   logrotate	the deployment test rotates with conf/pfsd.logrotate
#   prometheus	promtool checks `pfsd status --metrics`; a real
#		Prometheus scrapes metrics_listen
#   curl	HTTP client of the metrics tests
#   tmux	a real terminal for pfsd status --watch in the tests
#   libssl-dev	proto ssl (OpenSSL 3)
#   openssl, python3	TLS clients of the tests, and their certificates
#   chromium	a real browser (headless) loads the status page of
#		metrics_listen in the tests: its DOM, with and without
#		JavaScript, and a screenshot; fonts-dejavu-extra: its
#		fontconfig takes DejaVu's oblique faces when they are
#		there, so that the screenshot is the same on every machine
DEPS_DEB	= gcc g++ make libc6-dev libyaml-dev libpcre2-dev check autoconf \
		  automake pkg-config mandoc valgrind perl libnet-server-perl \
		  libnet-cidr-perl netbase systemd clang libclang-rt-14-dev \
		  strace haproxy nginx-light libnginx-mod-stream logrotate procps \
		  ca-certificates \
		  prometheus libssl-dev openssl curl python3 tmux \
		  chromium fonts-dejavu-extra

NOCONF_GOALS	= deps deps-list install-conf clean distclean help
ifeq ($(filter-out $(NOCONF_GOALS),$(or $(MAKECMDGOALS),all)),)
else
-include config.mak.autogen
endif

WARNINGS	= -Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes \
		  -Wmissing-prototypes -Wmissing-declarations -Wcast-qual \
		  -Wno-unused-parameter
OPTFLAGS	?= -O2 -g
ifeq ($(WERROR),1)
WARNINGS	+= -Werror
endif
ifeq ($(SANITIZE),1)
OPTFLAGS	= -O1 -g -fno-omit-frame-pointer
SANFLAGS	= -fsanitize=address,undefined -fno-sanitize-recover=undefined
endif
ALL_CFLAGS	= -std=gnu11 $(OPTFLAGS) $(SANFLAGS) $(WARNINGS) -Idaemon \
		  $(CPPFLAGS_CONF) $(CFLAGS)
PLUGIN_CFLAGS	= -std=gnu11 $(OPTFLAGS) $(WARNINGS) -fPIC -Idaemon $(CFLAGS)
EXPORTS		= -Wl,--dynamic-list=daemon/pfsd.sym
# Full RELRO: every symbol bound at start, the GOT read-only from then on.
# It also keeps the children from writing the GOT page they share with
# the parent (lazy binding would, on each first call): one copied page
# less per child.
HARDEN_LDFLAGS	= -Wl,-z,relro,-z,now
ALL_LDFLAGS	= $(SANFLAGS) $(HARDEN_LDFLAGS) $(LDFLAGS_CONF) $(LDFLAGS)

DAEMON_LIB_SRCS	= daemon/conf.c daemon/conf_kv.c daemon/conf_print.c \
		  daemon/conf_yaml.c daemon/conf_cmdline.c \
		  daemon/log.c \
		  daemon/listen.c daemon/listen_parse.c daemon/listen_inherit.c \
		  daemon/access.c daemon/handshake.c \
		  daemon/proxy.c \
		  daemon/plugin.c \
		  daemon/api.c daemon/scoreboard.c daemon/pool.c \
		  daemon/serialize.c daemon/standby.c daemon/parent.c daemon/child.c daemon/daemonize.c \
		  daemon/pidfile.c daemon/notify.c \
		  daemon/status.c daemon/restart.c daemon/watchdog.c \
		  daemon/compat.c daemon/hooks.c daemon/metrics.c \
		  daemon/sigpass.c daemon/check.c daemon/metrics_http.c \
		  daemon/accesslog.c daemon/proctitle.c \
		  daemon/tls.c daemon/util.c \
		  daemon/history.c daemon/statuspage.c
DAEMON_LIB_OBJS	= $(DAEMON_LIB_SRCS:.c=.o)
DAEMON_LIBS	= $(PCRE2_LIBS) $(SSL_LIBS) $(DL_LIBS) -lpthread
PLUGINS		= $(patsubst %.c,%.so,$(wildcard plugins/*.c))
TEST_PLUGINS	= $(patsubst %.c,%.so,$(wildcard tests/plugins/*.c))
TEST_SRCS	= $(wildcard tests/check_*.c) tests/harness.c tests/conf_helpers.c
TEST_OBJS	= $(TEST_SRCS:.c=.o)
BENCH_BINS	= bench/loadgen bench/floor bench/tlsload

.PHONY: all deps deps-list run check check-build check-deps check-stage \
	check-repeat plugins install \
	install-conf uninstall clean distclean \
	bench bench-scale check-big soak valgrind fuzz help
all: daemon/pfsd plugins

help:
	@sed -n '1,/^$$/p' Makefile

deps-list:
	@echo $(DEPS_DEB)

# --- dependencies and configuration -------------------------------------
deps:
	@missing=; \
	if command -v dpkg-query >/dev/null 2>&1; then \
	  for p in $(DEPS_DEB); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
	      grep -q 'ok installed' || missing="$$missing $$p"; \
	  done; \
	fi; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "make deps: installing$$missing"; \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	      apt-get install -y -qq --no-install-recommends $$missing; } \
	      || exit 1; \
	  else \
	    echo "make deps: missing build dependencies; run:"; \
	    echo "    sudo apt-get install$$missing"; exit 1; \
	  fi; \
	fi

configure: configure.ac | deps
	autoreconf -fi

config.mak.autogen: configure config.mak.in | deps
	./configure --quiet $(CONFIGURE_FLAGS)

daemon/config.h: config.mak.autogen

# Rebuild everything when the compiler flags change (SANITIZE=1 and back).
.build-flags: FORCE
	@echo '$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS)' | cmp -s - $@ || \
	  echo '$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS)' > $@
FORCE:

# --- the daemon -----------------------------------------------------------
daemon/%.o: daemon/%.c daemon/internal.h daemon/pfsd.h daemon/config.h \
	    .build-flags
	$(CC) $(ALL_CFLAGS) $(YAML_CFLAGS) $(PCRE2_CFLAGS) $(SSL_CFLAGS) \
	  -c -o $@ $<

daemon/paths-build.o: daemon/paths.c daemon/internal.h daemon/config.h \
		      .build-flags
	$(CC) $(ALL_CFLAGS) -DPFSD_PLUGIN_DIR='"$(CURDIR)/plugins"' \
	  -DPFSD_CONF_DEFAULT='"$(SYSCONFDIR)/pfsd/pfsd.conf"' -c -o $@ $<

# The installed binary's plugin_dir: rebuilt when PLUGINDIR changes.
.install-paths: FORCE
	@echo '$(PLUGINDIR)' | cmp -s - $@ || echo '$(PLUGINDIR)' > $@

daemon/paths-inst.o: daemon/paths.c daemon/internal.h daemon/config.h \
		     .build-flags .install-paths
	$(CC) $(ALL_CFLAGS) -DPFSD_PLUGIN_DIR='"$(PLUGINDIR)"' \
	  -DPFSD_CONF_DEFAULT='"$(SYSCONFDIR)/pfsd/pfsd.conf"' -c -o $@ $<

daemon/libpfsd.a: $(DAEMON_LIB_OBJS)
	rm -f $@ && ar rcs $@ $^

daemon/pfsd: daemon/main.o daemon/paths-build.o daemon/libpfsd.a \
	     daemon/pfsd.sym
	$(CC) $(ALL_LDFLAGS) $(EXPORTS) -o $@ daemon/main.o \
	  daemon/paths-build.o daemon/libpfsd.a $(YAML_LIBS) $(DAEMON_LIBS)

daemon/pfsd-installed: daemon/main.o daemon/paths-inst.o daemon/libpfsd.a \
		       daemon/pfsd.sym
	$(CC) $(ALL_LDFLAGS) $(EXPORTS) -o $@ daemon/main.o \
	  daemon/paths-inst.o daemon/libpfsd.a $(YAML_LIBS) $(DAEMON_LIBS)

# --- handlers -------------------------------------------------------------
plugins: $(PLUGINS)

plugins/%.so: plugins/%.c daemon/pfsd.h config.mak.autogen
	$(CC) $(PLUGIN_CFLAGS) -shared -o $@ $<

tests/plugins/%.so: tests/plugins/%.c daemon/pfsd.h config.mak.autogen
	$(CC) $(PLUGIN_CFLAGS) -shared -o $@ $<

# --- run ------------------------------------------------------------------
run: deps all
	@echo "pfsd: serving the echo handler on 127.0.0.1:20203 (Ctrl-C stops)"
	./daemon/pfsd -c conf/pfsd.conf

# --- tests ----------------------------------------------------------------
tests/%.o: tests/%.c tests/harness.h tests/conf_helpers.h \
	   daemon/internal.h daemon/pfsd.h \
	   daemon/config.h .build-flags
	$(CC) $(ALL_CFLAGS) $(CHECK_CFLAGS) -DSRCDIR='"$(CURDIR)"' -c -o $@ $<

tests/bin/check_pfsd: $(TEST_OBJS) daemon/paths-build.o daemon/libpfsd.a
	@mkdir -p tests/bin
	$(CC) $(ALL_LDFLAGS) $(EXPORTS) -o $@ $(TEST_OBJS) \
	  daemon/paths-build.o daemon/libpfsd.a $(YAML_LIBS) $(DAEMON_LIBS) \
	  $(CHECK_LIBS)

tests/bin/cxx_header: daemon/pfsd.h tests/cxx_header.cc
	@mkdir -p tests/bin
	$(CXX) -std=c++11 -Wall -Wextra -Werror -Idaemon -fsyntax-only \
	  tests/cxx_header.cc && touch $@

CHECK_DEPS	= daemon/pfsd daemon/pfsd-installed $(PLUGINS) \
		  $(TEST_PLUGINS) tests/bin/check_pfsd $(BENCH_BINS)
check-build: deps
	@$(MAKE) --no-print-directory check-deps

# One goal with a recipe, so that make says nothing when all is built.
check-deps: $(CHECK_DEPS) tests/bin/cxx_header
	@:

# The install suite tests a staged make install.
check-stage: check-build
	@rm -rf tests/run/stage
	@$(MAKE) --no-print-directory install PREFIX=/usr \
	  DESTDIR=$(CURDIR)/tests/run/stage > /dev/null

check: check-stage
	cd tests && ./bin/check_pfsd

# make check-repeat [N=20]: the whole suite N times in a row, to find
# flaky tests; prints the failures of each failed run (or, with none named,
# the end of its output: the runner itself failed) and keeps its output in
# tests/run/repeat.I.log (its tests' files in tests/run/repeat.I.failed).
N		?= 20
check-repeat: check-stage
	@rm -rf tests/run/repeat.*; fails=0; i=0; \
	while [ $$i -lt $(N) ]; do i=$$((i + 1)); \
	  log=tests/run/repeat.$$i.log; start=$$(date +%s); \
	  if (cd tests && ./bin/check_pfsd) > $$log 2>&1; then \
	    echo "run $$i/$(N): ok ($$(($$(date +%s) - start)) s)"; \
	    rm -f $$log; \
	  else \
	    fails=$$((fails + 1)); \
	    echo "run $$i/$(N): FAILED ($$(($$(date +%s) - start)) s):"; \
	    if grep -qE '^[^ ]+:[0-9]+:[EF]:' $$log; then \
	      grep -E '^[^ ]+:[0-9]+:[EF]:' $$log | sed 's/^/    /'; \
	    else tail -n 5 $$log | sed 's/^/    /'; fi; \
	    [ ! -d tests/run/failed ] || \
	      mv tests/run/failed tests/run/repeat.$$i.failed; \
	  fi; \
	done; \
	echo "check-repeat: $$fails of $(N) runs failed"; [ $$fails -eq 0 ]

# The serialize suite with its big-pool test at 4096 children (make check
# runs it with 1024).
check-big: check-build
	cd tests && PFSD_BIG_POOL=4096 CK_RUN_SUITE=serialize ./bin/check_pfsd

# --- soak and valgrind ---------------------------------------------------
# The leaks suite's soak test (make check runs it with 10000 connections)
# at SOAK_COUNT connections, and its valgrind case alone.
SOAK_COUNT	?= 100000

soak: deps
	@$(MAKE) --no-print-directory $(CHECK_DEPS)
	cd tests && PFSD_TEST_STDERR=show PFSD_SOAK_COUNT=$(SOAK_COUNT) \
	  CK_RUN_SUITE=leaks \
	  CK_RUN_CASE=soak ./bin/check_pfsd
	cd tests && PFSD_TEST_STDERR=show PFSD_SOAK_COUNT=$(SOAK_COUNT) \
	  CK_RUN_SUITE=restart CK_RUN_CASE=soak ./bin/check_pfsd

valgrind: deps
	@if [ "$(SANITIZE)" = 1 ]; then \
	  echo "make valgrind: valgrind cannot run an ASan build"; exit 1; fi
	@$(MAKE) --no-print-directory $(CHECK_DEPS)
	cd tests && PFSD_TEST_STDERR=show CK_RUN_SUITE=leaks \
	  CK_RUN_CASE=valgrind ./bin/check_pfsd
	cd tests && PFSD_TEST_STDERR=show CK_RUN_SUITE=tls \
	  CK_RUN_CASE=valgrind ./bin/check_pfsd

# --- mutation testing ---------------------------------------------------
# Each mutant of tests/mutants (a realistic one-point breakage of daemon/)
# applied alone to a copy of the tree, which is built and tested: the
# relevant suites first, then all.  Prints KILLED/SURVIVED/STALE per mutant
# and the score; fails below MUTATE_MIN percent killed.  Long (minutes):
# MUTANTS="id ..." runs some, MUTATE_FLAGS=--quick only relevant suites.
MUTATE_MIN	?= 90
DEPS_DEB	+= git	# the copy is made of git ls-files
.PHONY: mutate
mutate: deps
	perl tests/mutate.pl --min $(MUTATE_MIN) $(MUTATE_FLAGS) $(MUTANTS)

# --- benchmarks -----------------------------------------------------------
bench/tlsload: bench/tlsload.c .build-flags config.mak.autogen
	$(CC) -std=gnu11 -O2 -g $(WARNINGS) $(SSL_CFLAGS) -o $@ $< \
	  $(SSL_LIBS) -lpthread

bench/%: bench/%.c .build-flags config.mak.autogen
	$(CC) -std=gnu11 -O2 -g $(WARNINGS) -o $@ $< -lm

bench: deps all $(BENCH_BINS) tests/plugins/http_stdio.so
	bench/run.sh
	bench/scale.sh
	bench/proxy.sh
	bench/observe.sh
	bench/tls.sh

# Only the pool-size table (BENCH_QUICK=1: a reduced one in about a minute).
bench-scale: deps all $(BENCH_BINS)
	bench/scale.sh

# 20 HUPs whose new image fails and rolls back, under load (bench/rollback.sh)
.PHONY: bench-rollback
bench-rollback: deps all $(BENCH_BINS) tests/plugins/hooks.so
	bench/rollback.sh

# --- fuzzing (libFuzzer) -------------------------------------------------
# make fuzz [FUZZ_SECONDS=60]: build tests/fuzz/fuzz_*.c with clang against
# their own sanitized objects of the daemon (tests/fuzz/obj/, never mixed
# with the gcc ones in daemon/), then run each target in turn for
# FUZZ_SECONDS on a copy of its corpus (tests/fuzz/corpus/NAME is never
# grown).  Fails if a target finds a crash, a leak, undefined behaviour or
# a timeout; the input that did it is kept in tests/fuzz/artifacts/.
# Descriptors 3-9 are closed for the targets: fuzz_inherit puts its own
# sockets there, where systemd would.
FUZZ_SECONDS	?= 60
FUZZ_CC		?= clang
FUZZ_TARGETS	= kv yaml port access inherit proxy log
FUZZ_OBJS	= $(patsubst %,tests/fuzz/obj/%.o,conf conf_kv conf_print \
		  conf_yaml conf_cmdline \
		  log listen listen_parse listen_inherit \
		  access proxy scoreboard util paths handshake)
FUZZ_BINS	= $(patsubst %,tests/fuzz/bin/fuzz_%,$(FUZZ_TARGETS))
# clang, unlike gcc, warns about vprintf-style calls in functions that
# take a va_list (log_vmsg, conf_vadd); their callers are checked.
FUZZ_CFLAGS	= -std=gnu11 -g -O1 -fno-omit-frame-pointer $(WARNINGS) \
		  -Wno-format-nonliteral -Idaemon $(CPPFLAGS_CONF) \
		  $(YAML_CFLAGS) $(PCRE2_CFLAGS) -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_PROBE	= printf 'int LLVMFuzzerTestOneInput(const char *d, \
		  unsigned long n) { return 0; }\n' | $(FUZZ_CC) \
		  -fsanitize=fuzzer,address,undefined -x c - -o /dev/null \
		  >/dev/null 2>&1

.PHONY: fuzz-deps fuzz-build fuzz-clean
# clang and the libFuzzer runtime of its version are in DEPS_DEB.
fuzz-deps:
	@$(FUZZ_PROBE) || { echo "make fuzz: $(FUZZ_CC) cannot link" \
	  "-fsanitize=fuzzer (make deps installs clang and libFuzzer)"; \
	  exit 1; }

$(filter-out %/paths.o,$(FUZZ_OBJS)): tests/fuzz/obj/%.o: daemon/%.c \
		    daemon/internal.h daemon/pfsd.h daemon/config.h | fuzz-deps
	@mkdir -p tests/fuzz/obj
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

tests/fuzz/obj/paths.o: daemon/paths.c daemon/internal.h daemon/config.h \
			| fuzz-deps
	@mkdir -p tests/fuzz/obj
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link \
	  -DPFSD_PLUGIN_DIR='"/nonexistent"' \
	  -DPFSD_CONF_DEFAULT='"/nonexistent"' -c -o $@ $<

tests/fuzz/bin/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_OBJS) daemon/internal.h \
		       | fuzz-deps
	@mkdir -p tests/fuzz/bin
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_OBJS) \
	  $(YAML_LIBS) $(PCRE2_LIBS)

fuzz-build: deps fuzz-deps
	@$(MAKE) --no-print-directory $(FUZZ_BINS)

fuzz: fuzz-build
	@tmp=$$(mktemp -d /tmp/pfsd-fuzz.XXXXXX) || exit 1; \
	trap 'rm -rf "$$tmp"' EXIT; mkdir -p tests/fuzz/artifacts; fail=; \
	for t in $(FUZZ_TARGETS); do \
	  mkdir "$$tmp/$$t" && cp tests/fuzz/corpus/$$t/* "$$tmp/$$t/"; \
	  if tests/fuzz/bin/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) \
	      -timeout=10 -print_final_stats=1 \
	      -artifact_prefix=tests/fuzz/artifacts/fuzz_$$t- \
	      "$$tmp/$$t" >"$$tmp/$$t.log" 2>&1 \
	      3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&-; then \
	    runs=$$(sed -n 's/^stat::number_of_executed_units: *//p' \
	      "$$tmp/$$t.log"); \
	    rate=$$(sed -n 's/^stat::average_exec_per_sec: *//p' \
	      "$$tmp/$$t.log"); \
	    echo "fuzz_$$t: no finding in $$runs runs ($$rate/s)"; \
	  else \
	    echo "fuzz_$$t: FAILED"; tail -n 40 "$$tmp/$$t.log"; \
	    fail="$$fail fuzz_$$t"; \
	  fi; \
	done; \
	if [ -n "$$fail" ]; then echo "make fuzz: failed:$$fail" \
	  "(inputs in tests/fuzz/artifacts/)"; exit 1; fi

clean: fuzz-clean
fuzz-clean:
	rm -rf tests/fuzz/bin tests/fuzz/obj

# --- install --------------------------------------------------------------
# install-conf: the example configurations (an edited one is kept: the
# new one goes next to it as .new) and the systemd units.
install: install-conf daemon/pfsd-installed $(PLUGINS)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(PLUGINDIR) \
	  $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(PKGCONFIGDIR) \
	  $(DESTDIR)$(MANDIR)/man3 $(DESTDIR)$(MANDIR)/man5 \
	  $(DESTDIR)$(MANDIR)/man8
	install -m 755 daemon/pfsd-installed $(DESTDIR)$(BINDIR)/pfsd
	install -m 755 $(PLUGINS) $(DESTDIR)$(PLUGINDIR)
	install -m 644 daemon/pfsd.h $(DESTDIR)$(INCLUDEDIR)
	sed -e 's#@PREFIX@#$(PREFIX)#' -e 's#@INCLUDEDIR@#$(INCLUDEDIR)#' \
	  -e 's#@PLUGINDIR@#$(PLUGINDIR)#' \
	  -e 's#@VERSION@#$(PACKAGE_VERSION)#' conf/pfsd.pc.in \
	  > $(DESTDIR)$(PKGCONFIGDIR)/pfsd.pc
	install -m 644 man/pfsd-plugin.3 $(DESTDIR)$(MANDIR)/man3
	install -m 644 man/pfsd.conf.5 $(DESTDIR)$(MANDIR)/man5
	install -m 644 man/pfsd.8 $(DESTDIR)$(MANDIR)/man8

install-conf:
	install -d $(DESTDIR)$(SYSCONFDIR)/pfsd
	@for f in pfsd.conf pfsd.yaml; do \
	  t=$(DESTDIR)$(SYSCONFDIR)/pfsd/$$f; \
	  if [ -e "$$t" ] && ! cmp -s conf/$$f "$$t"; then \
	    echo "install: $$t exists and differs: installing conf/$$f" \
	      "as $$t.new"; t=$$t.new; fi; \
	  echo "install -m 644 conf/$$f $$t"; \
	  install -m 644 conf/$$f "$$t" || exit 1; \
	done
	install -d $(DESTDIR)$(UNITDIR)
	sed -e 's#/usr/local/sbin/pfsd#$(BINDIR)/pfsd#' \
	  -e 's#/etc/pfsd/pfsd.conf#$(SYSCONFDIR)/pfsd/pfsd.conf#' \
	  $(if $(shell [ 0$(SYSTEMD_VERSION) -ge 253 ] && echo y), \
	  -e 's#^Type=notify$$#Type=notify-reload#' -e '/^ExecReload=/d') \
	  conf/pfsd.service > $(DESTDIR)$(UNITDIR)/pfsd.service
	install -m 644 conf/pfsd.socket $(DESTDIR)$(UNITDIR)

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/pfsd $(DESTDIR)$(INCLUDEDIR)/pfsd.h \
	  $(DESTDIR)$(PKGCONFIGDIR)/pfsd.pc \
	  $(DESTDIR)$(MANDIR)/man3/pfsd-plugin.3 \
	  $(DESTDIR)$(MANDIR)/man5/pfsd.conf.5 $(DESTDIR)$(MANDIR)/man8/pfsd.8 \
	  $(DESTDIR)$(UNITDIR)/pfsd.service $(DESTDIR)$(UNITDIR)/pfsd.socket
	@for f in pfsd.conf pfsd.yaml; do \
	  t=$(DESTDIR)$(SYSCONFDIR)/pfsd/$$f; rm -f "$$t.new"; \
	  if cmp -s conf/$$f "$$t"; then rm -f "$$t"; \
	  elif [ -e "$$t" ]; then echo "uninstall: keeping the edited $$t"; \
	  fi; done
	rm -f $(addprefix $(DESTDIR)$(PLUGINDIR)/,$(notdir $(PLUGINS)))
	-rmdir $(DESTDIR)$(PLUGINDIR) $(DESTDIR)$(LIBDIR)/pfsd \
	  $(DESTDIR)$(SYSCONFDIR)/pfsd 2>/dev/null

clean:
	rm -f daemon/*.o daemon/*.a daemon/pfsd daemon/pfsd-installed \
	  plugins/*.so tests/*.o tests/plugins/*.so $(BENCH_BINS) .build-flags \
	  .install-paths
	rm -rf tests/bin tests/run

distclean: clean
	rm -rf configure config.log config.status config.mak.autogen \
	  daemon/config.h daemon/config.h.in daemon/config.h.in~ \
	  autom4te.cache
