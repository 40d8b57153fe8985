# SPDX-License-Identifier: GPL-2.0
#
# Wrapper around Kbuild and the test scripts. Kbuild reads ./Kbuild.
#
#   make                 build the modules against KDIR
#   make check           the whole test suite (lint, builds, VM runs)
#   make demo            boot the stock Debian kernel, load the module
#   make check-harness   prove the VM harness catches every failure kind
#   make soak            the in-kernel soak (KUnit masstree_soak: OPS mixed
#                        concurrent operations, default 10 million, in
#                        kthreads, every result checked), then the
#                        reliability programs in a loop for DURATION s, on
#                        the KASAN kernel (KERNELS="kasan kcsan", SCALE=n;
#                        OPS=0 or DURATION=0 skips a part)
#   make mutate-kernel   in-kernel mutation testing (scripts/mutate-kernel):
#                        barrier and ordering mutants of the core on the
#                        strict KCSAN kernel, /dev/masstree mutants on the
#                        KASAN kernel; about 13 minutes, not part of check
#   make bench           benchmarks on the lean kernel; writes docs/benchmarks.md
#   make bench-instr     instructions per masstree call, every key shape and
#                        workload (callgrind on tools/testing/build/bench);
#                        CHECK=1 compares with
#                        tools/testing/bench/instr-baseline.txt (fails a
#                        cell 5% over it), UPDATE=1 rewrites the baseline,
#                        CACHE_SIM=1 adds D1 misses per call
#   make docs            render docs/masstree.rst to HTML in build/docs/html
#                        (Sphinx with the kernel's kernel-doc extension;
#                        warnings are errors)
#   make kernels         build (or find cached) the KASAN, KCSAN and strict KCSAN kernels
#   make deps            install the Debian packages everything needs
#   make install         the module (modules_install); the uapi header;
#                        masstreectl with its man page and bash completion;
#                        for consumer modules, the in-kernel headers in
#                        SRCDIR/masstree-VERSION/include and Module.symvers
#                        in SRCDIR/masstree-VERSION/KERNELRELEASE/. DESTDIR,
#                        PREFIX (/usr/local), SRCDIR (/usr/src) and
#                        INSTALL_MOD_PATH (default DESTDIR) as usual
#   make deb             Debian packages masstree-dkms and masstreectl
#                        (dpkg-buildpackage) into DEB_OUT (default build/deb)
#   make clean           the module build, build/ and tools/' outputs

STOCK_KDIR := $(lastword $(sort $(wildcard /usr/src/linux-headers-*-amd64)))
RUNNING_KDIR := /lib/modules/$(shell uname -r)/build
ifneq ($(wildcard $(RUNNING_KDIR)/Makefile),)
KDIR ?= $(RUNNING_KDIR)
else
KDIR ?= $(STOCK_KDIR)
endif

# Areas with a KUnit module (kunit/masstree_<area>_test.ko) and selftest
# programs that `make check` runs; override to run a subset.
AREAS ?=
SELFTESTS ?=

PREFIX ?= /usr/local
SRCDIR ?= /usr/src
INSTALL_MOD_PATH ?= $(DESTDIR)
DEB_OUT ?= $(CURDIR)/build/deb

# The release: the one place it is written (see README, "Releases").
VERSION := $(shell cat $(CURDIR)/VERSION)
# The release of the kernel in KDIR, as uname -r says it (Debian's
# include/config/kernel.release holds the upstream version instead).
KERNELRELEASE_OF_KDIR = $(shell sed -n 's/^\#define UTS_RELEASE "\(.*\)"$$/\1/p' \
	$(KDIR)/include/generated/utsrelease.h)

.PHONY: all modules install clean check check-harness demo kernels deps bench \
	bench-peers bench-instr soak docs mutate-kernel deb

all: modules

modules:
	$(MAKE) -C $(KDIR) M=$(CURDIR) W=1 modules

install: modules
	$(MAKE) -C $(KDIR) M=$(CURDIR) INSTALL_MOD_PATH=$(INSTALL_MOD_PATH) modules_install
	install -D -m 0644 include/uapi/linux/masstree.h \
		$(DESTDIR)$(PREFIX)/include/linux/masstree.h
	install -D -m 0644 include/linux/masstree.h \
		$(DESTDIR)$(SRCDIR)/masstree-$(VERSION)/include/linux/masstree.h
	install -D -m 0644 include/uapi/linux/masstree.h \
		$(DESTDIR)$(SRCDIR)/masstree-$(VERSION)/include/uapi/linux/masstree.h
	install -D -m 0644 Module.symvers \
		$(DESTDIR)$(SRCDIR)/masstree-$(VERSION)/$(KERNELRELEASE_OF_KDIR)/Module.symvers
	$(MAKE) -C tools/masstreectl install DESTDIR=$(DESTDIR) PREFIX=$(PREFIX)

deb:
	scripts/build-deb.sh $(DEB_OUT)

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean 2>/dev/null || true
	$(MAKE) -C tools clean
	rm -rf build

check:
	scripts/check.sh $(if $(AREAS),--areas "$(AREAS)") $(if $(SELFTESTS),--selftests "$(SELFTESTS)")

check-harness:
	scripts/check-harness.sh

DURATION ?= 600
KERNELS ?= kasan
SCALE ?= 1
OPS ?= 10000000
soak:
	scripts/soak.sh --duration $(DURATION) --kernels "$(KERNELS)" --scale $(SCALE) \
		--ops $(OPS)

demo:
	scripts/demo.sh

mutate-kernel:
	scripts/mutate-kernel

bench:
	scripts/bench.sh

bench-instr:
	scripts/bench-instr.sh $(if $(CHECK),--check) $(if $(UPDATE),--update) \
		$(if $(CACHE_SIM),--cache-sim)

bench-peers:
	scripts/bench-peers-instr.sh

docs:
	scripts/install-deps.sh
	scripts/build-docs.sh

kernels:
	scripts/build-kernel.sh kasan
	scripts/build-kernel.sh kcsan
	scripts/build-kernel.sh kcsan-strict

deps:
	scripts/install-deps.sh
