#!/bin/sh
# The test command: installs what is missing, builds, runs the whole suite, then the sanitizer build
# (AddressSanitizer + UndefinedBehaviorSanitizer at -O0, assertions on, line tables only: -g1 is
# enough for the stack traces; -O0 instruments every access and compiles in a third of the time of -O1,
# while its tests run about 3x slower, which the small sizes keep to about a minute on 2 cores) on every
# C++ suite that runs without a GPU (core, config, ops, io, text, models, heads; not the demo, failtests
# or example programs) without the InternViT-sized shapes (INTERNVL_TEST_SIZES=small,
# tests/support/grid.hpp), and ends with one line "N passed, N failed" counting test cases (Catch2 cases;
# other tests count as one each).
# The sanitizer build uses clang (clang++-14): it compiles these suites in 174 s on 2 cores where GCC
# took 272 s (its tests run 77 s against 55 s), which keeps the whole command inside CI's 20 minutes,
# and with clang the safetensors libFuzzer target is built and replays its corpus too (tests/io).
set -u
cd "$(dirname "$0")/.."
sh scripts/setup.sh tests || exit 1
status=0
# Seconds per phase, printed before the summary (CI's limit is 20 minutes on 2 cores).
phases=""
started=$(date +%s)
phase() {
  now=$(date +%s)
  phases="$phases${phases:+, }$1 $((now - started)) s"
  started=$now
}
# On a machine without a GPU (CI) the CUDA code is compiled, to check that it compiles and links, for
# sm_90 only rather than the default 80,90 (no kernel has per-architecture source; one architecture saves
# about a quarter of nvcc's time: test_heads.cu 44 s instead of 60 s) and with no host optimisation
# (-Dgpu_host_optimization=0: tasks_cuda.cu 32 s instead of 47 s; the CUDA tests skip without a GPU).
# It applies only when build/ is first configured; with a GPU, or where build/ already exists, the
# build's own options stand.
cuda_options=""
nvidia-smi -L >/dev/null 2>&1 || cuda_options="-Dgpu_archs=90 -Dgpu_host_optimization=0"
sh scripts/build.sh build $cuda_options || exit 1
phase build
meson test -C build --num-processes 2 --print-errorlogs >build/test-output.log 2>&1 || status=1
grep -E "^ *[0-9]+/[0-9]+ " build/test-output.log | grep -vE " OK | SKIP " || true
phase tests
CXX=clang++-14 sh scripts/build.sh build-sanitize -Db_sanitize=address,undefined -Db_lundef=false -Doptimization=0 -Ddebug=false -Db_ndebug=false -Dcpp_args=-g1 \
  -Dbenchmarks=disabled -Dexamples=disabled -Dcuda=disabled -Dtest_areas=core,config,ops,io,text,models,heads || exit 1
phase "sanitizer build"
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1 INTERNVL_TEST_SIZES=small \
  meson test -C build-sanitize --num-processes 2 --print-errorlogs \
  >build-sanitize/test-output.log 2>&1 || status=1
grep -E "^ *[0-9]+/[0-9]+ " build-sanitize/test-output.log | grep -vE " OK | SKIP " || true
phase "sanitizer tests"
echo "time: $phases"
python3 scripts/test_summary.py build build-sanitize || status=1
exit $status
