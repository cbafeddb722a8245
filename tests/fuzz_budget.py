"""How many examples property-based tests try: ``FUZZ_EXAMPLES`` (short in ``make test``, long in ``make fuzz``)."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

DEFAULT_EXAMPLES = 150


def fuzz_examples() -> int:
    """The budget: ``FUZZ_EXAMPLES`` from the environment of the test run, else ``DEFAULT_EXAMPLES``."""
    raw = os.environ.get("FUZZ_EXAMPLES", "").strip()  # a test-run knob, not a bot setting
    return max(1, int(raw)) if raw else DEFAULT_EXAMPLES


def fuzz_settings(share: float = 1.0) -> settings:
    """Hypothesis settings for ``share`` of the budget, without per-example deadlines (timing is checked
    where it is the property)."""
    return settings(max_examples=max(1, int(fuzz_examples() * share)), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
