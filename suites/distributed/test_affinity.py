"""Device affinity of a pinned worker: the GPU CUDA computes on is the one the controller assigned.

Runs in pytest-xdist workers started by ``--harness-gpus N`` (or ``-n N``); the UUID of CUDA's device 0
in the worker must be the UUID nvidia-smi gives for the assigned physical index. The same check judging
the worker against another GPU's index must fail.
"""

from __future__ import annotations

import os

import pytest

from harness.distributed import affinity_problems, gpu_uuids
from harness.vocab import NOT_A_CELL
from suites.helpers import gpu


@gpu
def test_worker_computes_on_its_gpu(harness_session):
    if not harness_session.worker.startswith("gw"):
        pytest.skip("not a pytest-xdist worker: run with --harness-gpus N to pin one worker per GPU")
    if harness_session.env.gpu is None:
        pytest.skip(f"needs a CUDA GPU: {harness_session.env.cap('gpu').reason}")
    import torch

    assigned = os.environ["CUDA_VISIBLE_DEVICES"]
    uuids = gpu_uuids()
    seen = str(torch.cuda.get_device_properties(0).uuid)
    problems = affinity_problems(assigned, seen, uuids)
    assert not problems, problems
    others = [i for i in uuids if i != assigned]
    if others:  # negative control: judged against another GPU, the same worker must be flagged
        assert affinity_problems(others[0], seen, uuids), "the affinity check passed a worker on the wrong GPU"
    harness_session.record(f"affinity-{harness_session.worker}", "gpu_index", float(assigned), "index",
                           {"model": NOT_A_CELL, "variant": NOT_A_CELL, "shapes": NOT_A_CELL, "stream": NOT_A_CELL,
                            "device": "cuda", "uuid": seen, "worker": harness_session.worker,
                            "checked_against_others": len(others)})
