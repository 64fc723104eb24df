"""Expectations the harness proves by executing the released libraries, each with its proof level.

``contract``: the Torch-TensorRT-RTX 2.14 Python layer executed on a CPU machine (level L2), with the data of
each expectation (statement, wheel citation, observed-value rule); ``contract_run`` starts the child process
that executes it (``contract_child``) in its own environment and reads back what it observed.
"""
