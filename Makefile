# Front door. `make run` and `make test` each install what is missing, build, and go.
# The real build is CMake; this file only strings the steps together.
BUILD ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
JOBS ?= $(shell nproc)
LISTEN ?= 127.0.0.1:8080

.PHONY: run test build build-asan build-tsan deps-run deps-test bench fuzz install clean

run: deps-run build
	$(BUILD)/relay/saltchat-relay --listen $(LISTEN) --www $(BUILD)/www

test: deps-test build build-asan build-tsan
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)
	cd $(ASAN_BUILD) && ctest --output-on-failure -j$(JOBS) -L sanitize
	cd $(TSAN_BUILD) && ctest --output-on-failure -j$(JOBS) -L tsan

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
	cmake --build $(TSAN_BUILD) -j$(JOBS) --target saltchat-relay saltchat

deps-run:
	scripts/deps.sh run

deps-test:
	scripts/deps.sh test

# All benchmarks (~10 minutes): rewrites docs/BENCHMARKS.md and docs/bench-fanout.png.
bench: deps-test
	bench/run --build $(BUILD)

install: build
	cmake --install $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD)
