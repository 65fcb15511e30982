"""`python -m tests.bench.launch MODULE ARGS...`: run MODULE as `python -m MODULE ARGS...`
would, in this same process, and at exit write its VmHWM (peak RSS, kB) to the file named by
KINERJA_BENCH_HWM_FILE.

The memory suite needs the peak of a child that exits by itself. /proc/PID/status is gone
once it exits, and the reaped child's ru_maxrss is no use: Linux carries the parent's RSS
into it across fork and exec. So the child reports its own peak on the way out.
"""

import atexit
import os
import runpy
import sys
from pathlib import Path

HWM_FILE = "KINERJA_BENCH_HWM_FILE"


def _write_peak(path: str) -> None:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            Path(path).write_text(line.split()[1])


def main() -> None:
    if len(sys.argv) < 2:
        raise SystemExit("usage: python -m tests.bench.launch MODULE [ARGS...]")
    module = sys.argv[1]
    sys.argv = [module, *sys.argv[2:]]
    atexit.register(_write_peak, os.environ[HWM_FILE])
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
