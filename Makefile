# tandem: developer and CI entry points. Everything goes through CMakePresets.json (build/<preset>/).
#   make demo    build and run examples/kitchen (the article) and examples/demo (release)
#   make test    every test: release suite, installed-package check, ASan+UBSan suite, TSan stress tests
#   make bench   build release, run every bench program beside the anchors (tokio, rayon, oneTBB, OpenMP,
#                asio) and write docs/benchmarks.md + docs/img/bench-*.png (scripts/benchmark-report)
#   make bench-quick  the same with tiny sizes: a smoke run of the report (numbers meaningless)
#   make clang   clang-19 build of everything with -Wall -Wextra -Werror
#   make format  clang-format -i on the tracked sources
#   make clean   remove build/

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
# Stages share build trees and run in order: never in parallel, even under `make -j`.
.NOTPARALLEL:
# Keep logs short: no "Entering directory" lines from the makes that cmake --build runs.
MAKEFLAGS += --no-print-directory

JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CTEST_JOBS ?= $(JOBS)
CLANG_FORMAT ?= clang-format

# Stage banner, with the wall-clock time so CI logs show how long each stage took.
banner = @printf '\n==== [%s] %s ====\n' "$$(date +%H:%M:%S)" "$(1)"

.PHONY: all bootstrap demo test test-release test-consumer test-asan test-tsan bench bench-quick clang format clean

all: test

bootstrap:
	@scripts/bootstrap

demo: bootstrap
	$(call banner,demo: configure + build (release preset))
	cmake --preset release
	cmake --build --preset release -j$(JOBS) --target kitchen demo
	$(call banner,demo: run build/release/examples/kitchen (the article's examples))
	build/release/examples/kitchen
	$(call banner,demo: run build/release/examples/demo (a tour of par and async))
	build/release/examples/demo

test: test-release test-consumer test-asan test-tsan
	$(call banner,test: all stages passed)

test-release: bootstrap
	$(call banner,test 1/4: release build)
	cmake --preset release
	cmake --build --preset release -j$(JOBS)
	$(call banner,test 1/4: release ctest (all labels))
	ctest --preset release -j$(CTEST_JOBS)

test-consumer: bootstrap
	$(call banner,test 2/4: installed package (CMake + pkg-config consumers))
	scripts/check-consumer build/release

# Sanitizer test runs go through setarch -R when available (see TANDEM_TEST_LAUNCHER in CMakeLists.txt).
test-asan: bootstrap
	$(call banner,test 3/4: ASan+UBSan build)
	cmake --preset asan
	cmake --build --preset asan -j$(JOBS)
	$(call banner,test 3/4: ASan+UBSan ctest (all tests))
	ctest --preset asan -j$(CTEST_JOBS)

# Only the stress tests run under TSan, so only they (and the library) are built there.
test-tsan: bootstrap
	$(call banner,test 4/4: TSan build (stress tests))
	cmake --preset tsan
	cmake --build --preset tsan -j$(JOBS) --target tandem_stress_tests
	$(call banner,test 4/4: TSan ctest -L stress)
	ctest --preset tsan -j$(CTEST_JOBS) -L stress

# THREADS="1 2 4 8 16" for other thread counts (default: 1 and every core); raw lines in build/bench-results-<host>.txt.
bench: bootstrap
	$(call banner,bench: build + run beside the anchors + write docs/benchmarks.md)
	JOBS=$(JOBS) scripts/benchmark-report

bench-quick: bootstrap
	$(call banner,bench-quick: tiny sizes (smoke run) + write docs/benchmarks.md)
	JOBS=$(JOBS) scripts/benchmark-report --quick

clang: bootstrap
	$(call banner,clang: clang-19 build with -Wall -Wextra -Werror)
	cmake --preset clang
	cmake --build --preset clang -j$(JOBS)

# git pathspec '*' also matches '/', so 'src/*.cpp' covers src/**/*.cpp.
format:
	git ls-files -z -- $(foreach d,include src tests bench examples,'$(d)/*.hpp' '$(d)/*.cpp') \
	  | xargs -0 -r $(CLANG_FORMAT) -i

clean:
	rm -rf build
