"""One calibration worker: ``python -m harness.children.calibrate_worker KIND:UNITS [KIND:UNITS ...]``.

Started in batches by ``python -m harness calibrate`` (``harness.calibrate.execute``). It sets up one workload per
``KIND:UNITS``, prints ``ready``, waits for ``go`` on stdin, then measures one round of each in turn and prints each
as one JSON line (``harness.calibrate.worker_line``: the measurement's fields, its samples as ``samples``, and the GPU
name). The kinds of one worker differ: its rounds are never compared.
"""

from __future__ import annotations

import sys

from harness.calibrate import SPECS, worker_line, workload
from harness.timing import measure


def main(args: list[str]) -> int:
    specs = [(kind, int(units)) for kind, units in (a.split(":") for a in args)]
    loads = [(kind, *workload(kind, units)) for kind, units in specs]
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        return 1
    for kind, fn, stream, gpu in loads:
        print(worker_line(measure(fn, SPECS[kind], cuda_stream=stream), gpu), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
