"""Fixtures the suites use: the run config, the run session and a per-cell recorder that builds, runs and measures.

A cell that cannot run here calls ``pytest.skip`` with the precise reason: the probe's finding, or the
library's own message when it refused to load an engine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from harness import nvtx_ranges
from harness.backends.base import BuildConfig, Built, Runner
from harness.cases import Case
from harness.errors import CapabilityMissing
from harness.keys import RUN_CONFIG, SESSION
from harness.timing import Measurement, TimingSpec, measure
from models import ModelEntry, get_model

if TYPE_CHECKING:
    import torch

    from harness.config import RunConfig
    from harness.session import HarnessSession


class CaseRecorder:
    """Bound to one test cell: everything it records carries the cell's id and dimensions."""

    def __init__(self, session: HarnessSession, case: Case) -> None:
        self.session = session
        self.case = case
        self.model: ModelEntry = get_model(case.model)
        self.built: Built | None = None

    @property
    def device(self) -> str:
        return self.build_config.device

    @property
    def build_config(self) -> BuildConfig:
        return self.session.build_config(self.case.variant, self.case.model, self.case.shapes, self.case.extra)

    def require(self, by_profile: bool = True) -> None:
        """Skip unless this machine can run the cell; reject a bad config before any build. ``by_profile=False``:
        a conformance cell that runs whatever the profile's latency variants are (--harness-backends still rules)."""
        cfg = self.build_config
        backend = self.session.backend(cfg.backend)
        backend.validate(cfg, self.case.settings)
        reason = backend.unavailable(self.session.env, cfg)
        if reason:
            pytest.skip(reason)
        rc, device = self.session.config, self.session.device
        if (by_profile or rc.variants) and self.case.variant not in rc.variants_for(device):
            how = "--harness-backends" if rc.variants else f"profile {rc.profile!r}"
            pytest.skip(f"{how} does not run variant {self.case.variant!r} on a {device} machine "
                        f"(it runs {list(rc.variants_for(device))})")

    def build(self) -> Built:
        self.require()
        with nvtx_ranges.phase("build", self.case.id):
            return self.session.build(self.model, self.build_config)

    def runner(self) -> Runner:
        built = self.build()
        self.built = built
        try:
            with nvtx_ranges.phase("load", self.case.id):
                return self.session.backend(built.config.backend).load(built, self.case.settings)
        except CapabilityMissing as exc:
            pytest.skip(str(exc))

    def input(self, batch: int) -> torch.Tensor:
        self.model.input.check_batch(self.case.shapes, batch)  # type: ignore[arg-type]
        return self.model.make_input(batch, device=self.device)

    def record(self, metric: str, value: float, unit: str, *, samples: tuple[float, ...] | None = None,
               stats: dict[str, float] | None = None, **dims: Any) -> None:
        all_dims = {**self.case.dims(), "device": self.device, **dims}
        self.session.record(self.case.id, metric, value, unit, all_dims, samples, stats)

    def finding(self, text: str, source: str) -> None:
        self.session.finding(self.case.id, text, source)

    def measure(self, fn: Any, spec: TimingSpec | None = None, stream: Any = None) -> Measurement:
        spec = spec or self.session.config.timing
        if self.device == "cuda" and stream is None:
            import torch

            stream = torch.cuda.current_stream()
        with nvtx_ranges.phase("timed", self.case.id):  # one range around warm-up and loop, none per iteration
            return measure(fn, spec, cuda_stream=stream if self.device == "cuda" else None)

    def record_latency(self, m: Measurement, batch: int, ran: dict[str, str] | None = None, **dims: Any) -> None:
        """``ran``: the runner's own account (``Runner.describe()``): runtime, stream, settings applied; ``dims``: how
        it was measured (``state``: the process it ran in)."""
        st = m.stats()
        self.record("latency_ms", st["p50"], "ms", samples=m.samples_ms, stats=st, batch=batch, clock=m.clock,
                    noisy=m.noisy, noise=m.noise_reasons(), iters_per_sample=m.iters_per_sample, ran=ran or {}, **dims)
        self.record("first_call_ms", m.first_call_ms, "ms", batch=batch, clock="host")


@pytest.fixture(scope="session")
def run_config(pytestconfig: pytest.Config) -> RunConfig:
    """The run's frozen configuration (profile, models, variants, paths), as the plugin built it."""
    return pytestconfig.stash[RUN_CONFIG]


@pytest.fixture(scope="session")
def harness_session(pytestconfig: pytest.Config) -> HarnessSession:
    return pytestconfig.stash[SESSION]


@pytest.fixture
def harness_case(request: pytest.FixtureRequest, harness_session: HarnessSession) -> CaseRecorder:
    case = request.node.callspec.params.get("case") if hasattr(request.node, "callspec") else None
    if not isinstance(case, Case):
        raise TypeError(f"{request.node.nodeid}: harness_case needs a parametrized 'case' of type Case")
    return CaseRecorder(harness_session, case)
