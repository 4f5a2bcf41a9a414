#!/usr/bin/env bash
# Everything this project checks on a CUDA GPU, in one unattended run, for a short lease on a lent
# machine (see benchmarks/README.md, "On a GPU"):
#
#   bash benchmarks/gpu_session.sh RESULTS_DIR
#
# It needs python3 with torch (CUDA), einops, matplotlib, pillow and pytest; the package is imported
# from this checkout (PYTHONPATH), not installed. Each step has its own time limit, writes its log to
# RESULTS_DIR/<step>.log and prints the log's tail, so one slow or failing step never hides the
# others. Steps, most important first:
#   cuda-tests          the tests that skip without a GPU (-k cuda): every module's training step on
#                       the GPU equals the CPU's in float64; float16/bfloat16 and channels_last;
#                       the CUDA paths of attn_course.timing; backbones on the GPU
#   bench-elementwise   the element-wise family, eager and torch.compile'd, at 8×256×40×40
#   bench-large         the same family compiled, forward only, at 32×256×80×80 (beyond the L2 cache)
#   bench-graphs        the element-wise family's forward compiled with mode="reduce-overhead"
#                       (CUDA graphs, no per-kernel launch cost) at 8×256×40×40
#   bench-all           every module, eager and compiled, at 8×256×40×40
#   timing-lab          notebook 12's GPU tables, written as RESULTS_DIR/gpu_results.json (copy it
#                       to solutions/12_gpu_timing/, re-execute the notebook, attn-course release)
#   compare-seed        against the source blog's snippets, if BLOG names its text dump
#   notebooks           each solution notebook's code cells run top to bottom as one script
# STEPS=name,name,... runs only those steps; LIMIT_<STEP> overrides a step's limit in seconds.
set -u
out=${1:-gpu-results}
mkdir -p "$out"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 MPLBACKEND=Agg
elementwise=se,eca,channel,spatial,cbam,simam,nam,shuffle

step() {
    local name=$1 limit=$2
    shift 2
    if [ -n "${STEPS:-}" ] && [[ ",$STEPS," != *",$name,"* ]]; then return 0; fi
    local start=$SECONDS
    timeout "$limit" "$@" >"$out/$name.log" 2>&1
    local rc=$?
    echo "== $name: exit $rc after $((SECONDS - start)) s (limit $limit s)"
    tail -n "${TAIL:-25}" "$out/$name.log"
}

nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader
python3 -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name())"

TAIL=8 step cuda-tests "${LIMIT_TESTS:-110}" python3 -m pytest -q -o addopts="" -p no:cacheprovider \
    -k cuda tests/modules/test_contract.py tests/test_timing.py tests/test_models.py
step bench-elementwise "${LIMIT_ELEMENTWISE:-190}" python3 benchmarks/bench_modules.py \
    --device cuda --keys "$elementwise" --min-run-time 0.2
step bench-large "${LIMIT_LARGE:-120}" python3 benchmarks/bench_modules.py --device cuda \
    --shape 32x256x80x80 --keys "$elementwise" --forward-only --min-run-time 0.2
step bench-graphs "${LIMIT_GRAPHS:-90}" python3 benchmarks/bench_modules.py --device cuda \
    --keys "$elementwise" --forward-only --compile-mode reduce-overhead --min-run-time 0.2
step bench-all "${LIMIT_ALL:-150}" python3 benchmarks/bench_modules.py --device cuda --min-run-time 0.2
step timing-lab "${LIMIT_TIMING_LAB:-420}" python3 benchmarks/timing_lab_gpu.py --out "$out/gpu_results.json"
if [ -n "${BLOG:-}" ]; then
    step compare-seed "${LIMIT_SEED:-90}" python3 benchmarks/compare_seed.py --device cuda \
        --blog "$BLOG" --repeats 5
fi
TAIL=12 step notebooks "${LIMIT_NOTEBOOKS:-60}" python3 - <<'PY'
import json, os, pathlib, time, traceback
for path in sorted(pathlib.Path("solutions").glob("*/*.ipynb")):
    cells = json.loads(path.read_text())["cells"]
    source = "\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    start, here = time.perf_counter(), os.getcwd()
    os.chdir(path.parent)
    try:
        exec(compile(source, str(path), "exec"), {"__name__": "__main__"})
        result = "ran"
    except Exception:
        result = "FAILED\n" + traceback.format_exc(limit=3)
    finally:
        os.chdir(here)
    print(f"{path}: {result} in {time.perf_counter() - start:.1f} s", flush=True)
PY
