# SPDX-License-Identifier: GPL-2.0
#
# Wrapper around Kbuild and the test scripts. Kbuild reads ./Kbuild.
#
#   make                 build the modules against KDIR
#   make check           the whole test suite (lint, builds, VM runs)
#   make demo            boot the stock Debian kernel, load the module
#   make check-harness   prove the VM harness catches every failure kind
#   make soak DURATION=s reliability programs in a loop on the KASAN kernel
#                        (KERNELS="kasan kcsan", SCALE=n)
#   make kernels         build (or find cached) the KASAN and KCSAN kernels
#   make deps            install the Debian packages everything needs
#   make clean

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

.PHONY: all modules clean check check-harness demo kernels deps soak

all: modules

modules:
	$(MAKE) -C $(KDIR) M=$(CURDIR) W=1 modules

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean 2>/dev/null || true
	rm -rf build

check:
	scripts/check.sh $(if $(AREAS),--areas "$(AREAS)") $(if $(SELFTESTS),--selftests "$(SELFTESTS)")

check-harness:
	scripts/check-harness.sh

DURATION ?= 600
KERNELS ?= kasan
SCALE ?= 1
soak:
	scripts/soak.sh --duration $(DURATION) --kernels "$(KERNELS)" --scale $(SCALE)

demo:
	scripts/demo.sh

kernels:
	scripts/build-kernel.sh kasan
	scripts/build-kernel.sh kcsan

deps:
	scripts/install-deps.sh
