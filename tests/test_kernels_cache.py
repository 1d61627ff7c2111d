"""The warm-up fills numba's cache, and ``keep_freed_memory`` keeps freed memory for the next step.

Both run in fresh subprocesses: a cache directory of their own, and glibc settings that apply
to a whole process.
"""
import json
import os
import subprocess
import sys
import textwrap

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_python(code, **env):
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, check=True,
                         capture_output=True, text=True, env=dict(os.environ, **env))
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_warm_up_compiles_what_a_training_step_needs(tmp_path):
    """After the warm-up, training steps of LeNet-5 (grayscale and RGB) and of a residual
    block in a new process load every kernel from the cache: no compilation at all."""
    cache = str(tmp_path / "numba-cache")
    subprocess.run([sys.executable, "-m", "tutorlib.warmup"], cwd=ROOT, check=True,
                   capture_output=True, env=dict(os.environ, NUMBA_CACHE_DIR=cache))
    stats = run_python("""
        import json, sys
        sys.path.insert(0, "benchmarks")
        import train_step
        from numba.core.registry import CPUDispatcher
        from tutorlib.kernels import activation, conv_images, gemm, im2col, norm, pool, softmax
        for name in ("lenet1", "lenet3", "resblock"):
            step, wrap = train_step.tutorlib_trainer(name)
            x, y = train_step.data(name, 4)
            step(wrap(x), wrap(y))
        modules = (activation, conv_images, gemm, im2col, norm, pool, softmax)
        found = [f for m in modules for f in vars(m).values()]
        kernels = [f for f in found if isinstance(f, CPUDispatcher)]
        print(json.dumps({f.py_func.__name__: [sum(f.stats.cache_hits.values()),
                                                sum(f.stats.cache_misses.values())]
                          for f in kernels if f.signatures}))
    """, NUMBA_CACHE_DIR=cache)
    assert len(stats) >= 10  # the kernels a CNN step calls
    assert {"forward", "backward", "_relu_flat"} <= set(stats)   # conv_images (sgemm inside)
    missed = {name: hits_misses for name, hits_misses in stats.items() if hits_misses[1]}
    assert not missed, f"compiled after the warm-up (not cached): {missed}"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc settings")
@pytest.mark.parametrize("keep", [True, False])
def test_freed_big_arrays_stay_in_the_process_only_when_asked(keep):
    """A freed 64 MB array is kept by the process (the next one reuses its pages) after
    ``tutorlib.keep_freed_memory()``, and given back to the system after a plain import."""
    rss = run_python(f"""
        import json, os
        import numpy as np
        import tutorlib
        kept = tutorlib.keep_freed_memory() if {keep} else None
        page = os.sysconf("SC_PAGE_SIZE")
        def rss():
            with open("/proc/self/statm") as f:
                return int(f.read().split()[1]) * page
        before = rss()
        a = np.ones(16 << 20, np.float32)  # 64 MB, every page touched
        touched = rss()
        del a
        print(json.dumps({{"kept": kept, "grew": touched - before,
                          "after_free": rss() - before}}))
    """)
    assert rss["grew"] > 60e6
    if keep:
        assert rss["kept"] is True and rss["after_free"] > 60e6
    else:
        assert rss["after_free"] < 10e6
