#!/usr/bin/env bash
# One GPU session's checks, in one call (the lent machine is bare and short-lived):
#   1. the `gpu` tests (GPU == CPU to 1e-12, arrays on the GPU, a sharded sweep);
#   2. the law contract on the GPU (jit == eager, vmap == loop, gradients,
#      conservation, orders against exact references), as far as its time allows;
#   3. the largest-run ladder and the 4096² split-step case (bench_gpu.py);
#   4. the errors of a stochastic run on the GPU (tests/test_errors.py) and
#      the cost of the step check (bench_errors.py, 10x the CPU sizes);
#   5. (STAGES=limits) issue 56's three workloads against the device's limit
#      (bench_gpu_limits.py: plain call beside bare formulations, with one
#      perfetto trace of a plain call per case, copied to $OUT/prof_*.json.gz);
#   6. (not by default: STAGES=coalescence) copy-coalescence's tau-leap at
#      the step H and H/2 on common noise at large N (issue 55 item 1;
#      benchmarks/run_copy_leap.py --coupled; COAL_RUNS="N:H:batch ...", side
#      by side), checkpointed under $COAL_CK: carry that folder back in and
#      the same line resumes it.
# Usage (repo root, jax with CUDA installed): OUT=dir bash benchmarks/gpu_check.sh
# STAGES="tests contract bench errors" (the default) picks the stages to run.
# (jqd's dependency h5netcdf is not in every CUDA image: test_sweep_on_gpu needs it;
# install or carry its wheel first.)
# Each stage has its own time limit; its log is written as it runs, so a
# stage cut short still leaves what it measured.
set -u
OUT=${OUT:-gpu-out}
mkdir -p "$OUT"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
export XLA_PYTHON_CLIENT_PREALLOCATE=false  # several pytest workers share the GPU
{
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
    python3 -c "import jax, equinox, diffrax, optax, numpy; print('jax', jax.__version__, 'equinox', equinox.__version__, 'diffrax', diffrax.__version__, 'optax', optax.__version__, 'numpy', numpy.__version__); print(jax.devices())"
    nproc
} 2>&1 | tee "$OUT/machine.txt"
# -p no:benchmark: pytest-benchmark (in the CUDA image) refuses to run beside xdist
PYTEST="python3 -m pytest -p no:cacheprovider -p no:benchmark -o addopts= -q -rA"
STAGES=" ${STAGES:-tests contract bench errors} "
stage() { [[ "$STAGES" == *" $1 "* ]]; }
stage tests && timeout "${GPU_TESTS_S:-90}" $PYTEST -m gpu tests/test_gpu.py 2>&1 | tee "$OUT/gpu_tests.log" | tail -15
stage contract && timeout "${CONTRACT_S:-120}" $PYTEST -v -n "${WORKERS:-8}" -m "not slow and not mutants" \
    tests/test_law_contract.py 2>&1 >"$OUT/contract.log"
stage contract && grep -c "^PASSED" "$OUT/contract.log" | sed 's/^/contract passed: /'
stage contract && grep -E " (FAILED|ERROR)" "$OUT/contract.log" | head -20
stage bench && timeout "${BENCH_S:-240}" python3 benchmarks/bench_gpu.py --rungs "${RUNGS:-2}" --max-run-s 5 \
    --splitstep 4096 --out "$OUT/results_gpu.md" 2>&1 | tee "$OUT/bench_gpu.log" | grep -v "^JSON"
stage bench && cat "$OUT/results_gpu.md" 2>/dev/null
if stage errors; then
    timeout "${ERRORS_TESTS_S:-150}" $PYTEST -m "not mutants" tests/test_errors.py 2>&1 \
        | tee "$OUT/errors_tests.log" | tail -5
    timeout "${ERRORS_BENCH_S:-150}" python3 benchmarks/bench_errors.py --device gpu --scale 10 \
        --rounds 3 --json "$OUT/bench_errors.jsonl" 2>&1 | tee "$OUT/bench_errors.log" | grep -v "^JSON"
fi
if stage limits; then
    PROFILE_DIR=/tmp/jqd-prof timeout "${LIMITS_S:-240}" python3 benchmarks/bench_gpu_limits.py \
        --json "$OUT/limits.jsonl" 2>&1 | tee "$OUT/limits.log" | grep -v "^JSON"
    for d in /tmp/jqd-prof/*/; do  # $OUT keeps two folder levels: the traces come up
        f=$(find "$d" -name perfetto_trace.json.gz | head -1)
        [ -n "$f" ] && cp "$f" "$OUT/prof_$(basename "$d").json.gz"
    done
fi
if stage coalescence; then  # each run stops itself at COAL_BUDGET_S, before the timeout
    # COAL_RUNS: "N:H:batch" runs side by side (one process each; at these widths
    # a step is launch-bound, so processes overlap on the device); one shared
    # compile cache, one checkpoint folder (each run's files are its own).
    # The budget is checked between chunks only: on 2026-11-28 two runs
    # (N = 99999, H = 0.25 and 0.125, 64 ensembles each, COAL_CHUNK=10) shared
    # an H200 for 510 s and neither finished its first chunk (the compiles of
    # every width and the wide early stage): nothing came back. Use COAL_CHUNK=2
    # and one run per call until a first chunk's time is known.
    export JAX_COMPILATION_CACHE_DIR=${JAX_COMPILATION_CACHE_DIR:-/tmp/jqd-coal-cache}
    for run in ${COAL_RUNS:-99999:0.25:8}; do
        IFS=: read -r n h b <<<"$run"
        timeout "${COAL_S:-540}" python3 benchmarks/run_copy_leap.py --coupled --piece 40 \
            --N "$n" --batch "$b" --dt "$h" --t-over-N "${COAL_T:-0.32}" \
            --budget "${COAL_BUDGET_S:-420}" --out "${COAL_CK:-$OUT/coal}" \
            ${COAL_CHUNK:+--chunk "$COAL_CHUNK"} >"$OUT/coalescence-N$n-dt$h.log" 2>&1 &
    done
    wait
    tail -n 4 "$OUT"/coalescence-*.log
fi
