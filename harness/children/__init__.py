"""Programs the harness runs in fresh processes, one module each, with the functions that start them. (The
``bench`` command also starts its own module again, ``--one``: a mode of the command, kept beside it.)

- ``trace_child``: a traced run (CUPTI + NVTX) of stream-confinement cells, ``python -m harness.children.trace_child``.
- ``cache_child``: one runtime-cache phase (cold, warm, corrupt) in a fresh process; ``run_json_child`` runs any of them.
- ``cache_contend``: one of several concurrent savers of a runtime-cache file.
- ``latency_child``: the latency of one build config in a fresh process.
- ``calibrate_worker``: one worker of ``python -m harness calibrate``: rounds of the calibration workloads, measured
  on the starter's ``go``.
- ``reference_loop``: the loop a user would write, run as a file by ``python -m harness bench``; imports nothing of the
  harness.
- ``contract_child``: executes the released Torch-TensorRT-RTX Python layer in its own environment, run as a file by
  ``harness.expect.contract_run``; imports nothing of the harness.
"""
