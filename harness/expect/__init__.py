"""Every expectation the harness holds a run to, each with its citation; suites only parametrize and call them.

The words the expectations use (variants, CUDA-graph modes, strategies, cache states, stream modes, ...) are
defined once, in ``harness.vocab``. The map:

- ``graphs``: the behaviour oracle, the expected outcome and CUDA-graph owner of every cell of the matrix
  (``BEHAVIOUR``) and the stream its kernels run on (``STREAMS``); each row cites docs/behaviour.md and the
  W14 wheel / upstream lines it rests on (``tests/test_oracle.py`` checks the citations). Used by
  ``suites/cudagraphs`` (``test_pytorch_capture``, ``test_rtx_matrix``), ``suites/streams/test_confinement``
  (stream rows), ``harness.coverage`` and ``reports/matrix.py``. What a TensorRT-RTX cell must show beyond its
  outcome (warnings, read-back strategies, contexts) is judged against these rows by ``harness.rtx_checks``.
- ``cache``: runtime-cache verdicts (cold / warm / corrupt start) from a fresh process's evidence;
  docs/behaviour.md#runtime-cache. Used by ``suites/runtime_cache``.
- ``confinement``: the verdict of each checked NVTX range of a trace (bound stream, context, green SM count);
  docs/behaviour.md#streams. Used by ``suites/streams`` and ``python -m harness trace``. The rules a user gives
  ``trace --expect`` are ``harness.trace.expect``.
- ``kernels``: dynamic-shape kernel specialization, graphs torch.compile compiles over a batch sweep (PyTorch
  dynamo's 0/1 specialization). Used by ``suites/kernel_strategy``; the TensorRT-RTX strategies' read-back is
  ``harness.rtx_checks.kernel_problems``.
- ``contract``: the Torch-TensorRT-RTX 2.14 Python layer executed on a CPU machine (level L2), with the data of
  each expectation (statement, wheel citation, observed-value rule); ``contract_run`` starts the child process
  that executes it (``contract_child``) in its own environment and reads back what it observed. Used by
  ``suites/contract``.
- Accuracy: each model's ``AccuracyRule`` (cosine similarity and worst relative error, with the reason for its
  tolerance) lives beside the model in ``models/__init__.py`` (``MODELS``); every cell that runs a model checks
  its output with ``model.accuracy.check``.
"""
