"""Registers the harness pytest plugin for every test under this folder (suites and the harness's own tests)."""

pytest_plugins = ["harness.plugin"]
