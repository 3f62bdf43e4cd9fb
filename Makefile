# Entry points for developers and CI. Everything goes through CMakePresets.json;
# build trees live in build/<preset>.
#
#   make deps    install the Debian packages the build needs (scripts/install-deps; DEPS="build test" for more)
#   make build   configure + build the dev (Debug) tree: library, tests, examples
#   make test    build + run the whole test suite in the dev tree
#   make demo    build + run the demo ($(DEMO)); DURATION=... and STATUS_PORT=... are passed through
#   make bench   release build with benchmarks; runs bench/run, or every bench binary
#   make asan    build + test under AddressSanitizer + UndefinedBehaviorSanitizer
#   make tsan    build + test under ThreadSanitizer
#   make stress  a long stress run in the dev tree: STRESS_SEQUENCES (50000,
#                a few minutes) random lifecycle sequences, seed STRESS_SEED;
#                then the Redis kill test with REDIS_T2_RUNS (10000) runs
#   make fuzz    build the libFuzzer targets with clang (build/fuzz) and run
#                each for FUZZ_SECONDS (60)
#   make memcheck  every example under valgrind memcheck (the dev build's)
#   make clean   remove build/

JOBS ?= 2
MAKEFLAGS += --no-print-directory
CMAKE ?= cmake
CTEST ?= ctest

# The demo: an executable name and the CMake target that builds it. Examples
# are built as target example_<name>, output <build>/examples/<name>.
DEMO ?= demo_service
DEMO_PRESET ?= dev
DEMO_TARGET ?= $(if $(wildcard examples/$(DEMO).cpp),example_$(DEMO),$(DEMO))
DEMO_BIN ?= $(CURDIR)/build/$(DEMO_PRESET)/$(if $(wildcard examples/$(DEMO).cpp),examples,bin)/$(DEMO)
DEMO_ARGS ?=

ifdef DURATION
export DURATION
endif
ifdef STATUS_PORT
export STATUS_PORT
endif

.PHONY: all deps configure build test demo bench asan tsan stress fuzz memcheck clean

all: build

# Each target installs only the package groups it needs (scripts/install-deps):
# the demo builds, the tests also start redis-server and chromium.
DEPS ?= build
deps:
	bash scripts/install-deps $(DEPS)

test test-dev test-asan test-tsan test-release asan tsan stress: DEPS = build test
bench: DEPS = build bench
fuzz: DEPS = build fuzz
memcheck: DEPS = build memcheck

# configure-<preset>, build-<preset>, test-<preset> for any preset.
configure-%: deps
	$(CMAKE) --preset $*

build-%: configure-%
	$(CMAKE) --build --preset $* --parallel $(JOBS)

test-%: build-%
	$(CTEST) --preset $* -j $(JOBS)

configure: configure-dev
build: build-dev
test: test-dev
asan: test-asan
tsan: test-tsan

demo: configure-$(DEMO_PRESET)
	$(CMAKE) --build --preset $(DEMO_PRESET) --parallel $(JOBS) --target $(DEMO_TARGET)
	DEMO_ACTIONS=$${DEMO_ACTIONS:-1} $(DEMO_BIN) $(DEMO_ARGS)

bench: build-release
	./bench/run build/release

# `make test` runs the stress test's short round; this is the long one.
STRESS_SEQUENCES ?= 50000
REDIS_T2_RUNS ?= 10000
stress: configure-dev
	$(CMAKE) --build --preset dev --parallel $(JOBS) --target stress_test redis_processes_test
	FLUID_STRESS_SEQUENCES=$(STRESS_SEQUENCES) $(if $(STRESS_SEED),FLUID_STRESS_SEED=$(STRESS_SEED)) \
	  build/dev/tests/stress_test
	FLUID_REDIS_T2_RUNS=$(REDIS_T2_RUNS) build/dev/tests/redis_processes_test \
	  --gtest_filter='RedisProcesses.NoRunIsLostWhileAConsumerIsKilledEveryTwoSeconds'

FUZZ_SECONDS ?= 60
fuzz: deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_JOBS=$(JOBS) bash fuzz/run build/fuzz

memcheck: deps
	MEMCHECK_JOBS=$(JOBS) bash scripts/memcheck

clean:
	rm -rf build
