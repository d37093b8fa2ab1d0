# Pyralog: the two commands a new user needs are `make run` and `make test`.
# Everything else wraps CMake. Build trees: build/ (normal), build-asan/ (ASan+UBSan, libFuzzer
# harnesses, clang). Nothing is written outside the repository except by scripts/deps.sh (apt).

JOBS     ?= $(shell nproc)
CC       ?= cc
BUILD    := build
ASAN     := build-asan
DATA_DIR ?= ./pyralog-data
FUZZ_SECONDS ?= 20
CTEST_ARGS ?=

.PHONY: node-deps all build deps run test test-fast asan fuzz bench bench-compare format clean

all: build

deps:
	@scripts/deps.sh

# Node.js test clients (kafkajs, ws), pinned by tests/node/package-lock.json.
node-deps:
	@[ tests/node/node_modules/.package-lock.json -nt tests/node/package-lock.json ] || \
	  (cd tests/node && npm ci --no-audit --no-fund)

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

run: deps build
	$(BUILD)/pyralog server --data-dir $(DATA_DIR)

# The whole suite: unit + integration tests on the normal build, then again under
# ASan+UBSan together with a bounded libFuzzer run of every harness.
test: deps node-deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(BUILD) -j $(JOBS)
	cd $(BUILD) && ctest --output-on-failure -j 2 --timeout 600 $(CTEST_ARGS)
	$(MAKE) asan

test-fast: node-deps build
	cd $(BUILD) && ctest --output-on-failure -j 2 $(CTEST_ARGS)

asan:
	cmake -S . -B $(ASAN) -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
	  -DPLG_SANITIZE=ON -DPLG_FUZZ=ON -DPLG_FUZZ_SECONDS=$(FUZZ_SECONDS)
	cmake --build $(ASAN) -j $(JOBS)
	cd $(ASAN) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j 2 --timeout 900 $(CTEST_ARGS)

# Longer fuzzing on demand: make fuzz FUZZ_SECONDS=600
fuzz:
	cmake -S . -B $(ASAN) -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
	  -DPLG_SANITIZE=ON -DPLG_FUZZ=ON -DPLG_FUZZ_SECONDS=$(FUZZ_SECONDS)
	cmake --build $(ASAN) -j $(JOBS)
	cd $(ASAN) && ctest --output-on-failure -L fuzz

bench: deps build
	@scripts/bench.sh

bench-compare: deps build
	@bench/compare.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN)
