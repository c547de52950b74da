# tandem: developer and CI entry points. Everything goes through CMakePresets.json (build/<preset>/).
#   make demo    build and run examples/demo (release)
#   make test    every test: release suite, installed-package check, ASan+UBSan suite, TSan stress tests
#   make bench   build release and run every build/release/bench/bench_* program
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

.PHONY: all bootstrap demo test test-release test-consumer test-asan test-tsan bench clang format clean

all: test

bootstrap:
	@scripts/bootstrap

demo: bootstrap
	$(call banner,demo: configure + build (release preset))
	cmake --preset release
	cmake --build --preset release -j$(JOBS) --target demo
	$(call banner,demo: run build/release/examples/demo)
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

bench: bootstrap
	$(call banner,bench: release build)
	cmake --preset release
	cmake --build --preset release -j$(JOBS)
	@for b in build/release/bench/bench_*; do \
	  [[ -f $$b && -x $$b ]] || continue; \
	  printf '\n==== [%s] bench: %s ====\n' "$$(date +%H:%M:%S)" "$$b"; \
	  "$$b"; \
	done

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
