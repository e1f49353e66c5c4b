# Front door. `make run` and `make test` each install what is missing, build, and go.
# The real build is CMake; this file only strings the steps together.
BUILD ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
JOBS ?= $(shell nproc)
LISTEN ?= 127.0.0.1:8080

.PHONY: run test flake-check build build-asan build-tsan deps-run deps-test bench bench-mls fuzz install clean

run: deps-run build
	$(BUILD)/relay/saltchat-relay --listen $(LISTEN) --www $(BUILD)/www

# Every stage (gcc: all tests; clang ASan+UBSan: -L sanitize; clang TSan: -L tsan) builds
# and runs even when an earlier one failed; a summary of all of them ends the output, and
# the exit status is non-zero if any stage failed (scripts/test-stages).
test: deps-test
	scripts/test-stages --jobs $(JOBS) --build $(BUILD) --asan-build $(ASAN_BUILD) \
	    --tsan-build $(TSAN_BUILD)

# The suite N times under a CPU hog: lists every test that failed at least once.
# make flake-check N=5 [ARGS='-R relay --hogs 2']
N ?= 5
flake-check: deps-test
	scripts/flake-check -n $(N) --jobs $(JOBS) --build $(BUILD) --asan-build $(ASAN_BUILD) \
	    --tsan-build $(TSAN_BUILD) $(ARGS)

build:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=gcc -DSALTCHAT_WEB=ON
	cmake --build $(BUILD) -j$(JOBS)

# clang with AddressSanitizer + UndefinedBehaviorSanitizer; also builds the libFuzzer targets.
build-asan:
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang \
	    -DSALTCHAT_SANITIZE=ON -DSALTCHAT_FUZZ=ON -DSALTCHAT_WEB=OFF
	cmake --build $(ASAN_BUILD) -j$(JOBS)

# clang with ThreadSanitizer, for the relay's NATS threads: runs the cluster scenarios.
build-tsan:
	cmake -S . -B $(TSAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang \
	    -DSALTCHAT_TSAN=ON -DSALTCHAT_WEB=OFF
	cmake --build $(TSAN_BUILD) -j$(JOBS) --target saltchat-relay saltchat v2_e2e

deps-run:
	scripts/deps.sh run

deps-test:
	scripts/deps.sh test

# All benchmarks (~25 minutes): rewrites docs/BENCHMARKS.md and docs/bench-fanout.png;
# it leads with the small rooms against Bun. BASE=path/to/older/saltchat-relay runs that
# relay beside the current one in the small-room scenarios (before/after).
BASE ?=
bench: deps-test
	bench/run --build $(BUILD) $(if $(BASE),--base-relay $(BASE))

# MLS alone (~5 minutes): bench_mls natively and as WebAssembly under Node, interleaved;
# prints the table, writes nothing (bench/run --only mls puts it into docs/BENCHMARKS.md).
bench-mls: build
	bench/mls/run --build $(BUILD)

install: build
	cmake --install $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD)
