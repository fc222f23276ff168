"""Metric collection: Knative's bucket averaging and the gateway-fed meter.

Aspects: the window average over written buckets only (partial windows at the start
and after the last write), gaps as zeros, a reset after a window of silence, the
weighted-exponential variant, resizing; the meter's time-weighted concurrency and
request counts per second, quiet seconds recorded only while instances are ready,
the activator's immediate stat, and window changes keeping data.
"""

from __future__ import annotations

import pytest

from unkai.platform.autoscaler.buckets import Buckets, WeightedBuckets
from unkai.platform.autoscaler.collector import Meter, MetricsCollector, Windows


def filled(size: int, values: dict[int, float], kind: type[Buckets] = Buckets) -> Buckets:
    buckets = kind(size)
    for index, value in sorted(values.items()):
        buckets.record(index, value)
    return buckets


@pytest.mark.parametrize(
    ("values", "at", "average"),
    [
        pytest.param({10: 4.0}, 10, 4.0, id="one bucket is a partial window"),
        pytest.param({10: 4.0, 11: 2.0}, 11, 3.0, id="two buckets"),
        pytest.param({10: 6.0, 13: 6.0}, 13, 3.0, id="gap counts as zeros"),
        pytest.param({10: 4.0, 11: 2.0}, 13, 3.0, id="trailing silence left out"),
        pytest.param(dict.fromkeys(range(20), 1.0), 19, 1.0, id="wraps the ring"),
        pytest.param({i: float(i) for i in range(20)}, 19, 17.0, id="last five of 0..19"),
        pytest.param({10: 4.0}, 15, 0.0, id="a window after the last write"),
        pytest.param({10: 4.0, 30: 1.0}, 30, 1.0, id="reset after a window of silence"),
        pytest.param({10: 1.0 / 3}, 10, 0.333333, id="floored to 6 digits"),
    ],
)
def test_window_average(values, at, average) -> None:
    assert filled(5, values).average(at) == average


def test_empty_means_no_write_in_the_window() -> None:
    buckets = filled(5, {10: 0.0})
    assert not buckets.empty(15)
    assert buckets.empty(16)
    assert Buckets(5).empty(0)


def test_weighted_average_favours_recent_buckets() -> None:
    # size 4: alpha = 1 - 0.0001 ** (1/4) = 0.9; the weights sum to 0.9999
    steady = filled(4, {0: 10.0, 1: 10.0, 2: 10.0, 3: 10.0}, WeightedBuckets)
    assert steady.average(3) == pytest.approx(9.999)
    recent = filled(4, {0: 0.0, 3: 10.0}, WeightedBuckets)
    old = filled(4, {0: 10.0, 3: 0.0}, WeightedBuckets)
    assert recent.average(3) == pytest.approx(9.0)
    assert old.average(3) == pytest.approx(10 * 0.9 * 0.1**3)
    assert recent.average(4) == pytest.approx(0.9)  # one silent bucket since
    assert recent.average(8) == 0.0


def test_resized_keeps_recent_data() -> None:
    buckets = filled(10, {i: float(i) for i in range(10)})
    assert buckets.resized(2).average(9) == 8.5
    assert buckets.resized(20).average(9) == 4.5


WINDOWS = Windows(stable=6.0, panic=2.0)


def meter(now: float = 0.0, windows: Windows = WINDOWS) -> Meter:
    return Meter(windows, bucket_size=1.0, now=now)


def test_concurrency_is_time_weighted_per_second() -> None:
    """Second 10 holds one request for 0.5 s and two for 0.5 s: 1.5; second 11 two
    for 0.25 s and one for 0.25 s: 0.75. Each second is stamped at its end."""
    counting = meter(10.0)
    counting.started(10.0)
    counting.started(10.5)
    counting.finished(11.25)
    counting.finished(11.5)
    observed = counting.observe(12.0)
    assert observed is not None
    assert observed.stable_concurrency == (1.5 + 0.75) / 2
    assert observed.stable_rps == 1.0
    assert observed.panic_concurrency == (1.5 + 0.75) / 2


def test_long_request_fills_every_second() -> None:
    counting = meter(0.0)
    counting.started(0.0)
    observed = counting.observe(4.5)
    assert observed is not None
    assert (observed.stable_concurrency, observed.panic_concurrency) == (1.0, 1.0)
    assert observed.stable_rps == 0.25  # one request over four seconds
    assert counting.inflight == 1


def test_quiet_seconds_count_only_while_instances_report() -> None:
    """With ready instances, idle seconds are zeros and the average decays; at zero
    instances nothing is written, the data ages out and there is no data at all."""
    reporting, silent = meter(0.0), meter(0.0)
    reporting.reporting = True
    for counting in (reporting, silent):
        counting.started(0.0)
        counting.finished(1.0)
    decayed, held = reporting.observe(4.0), silent.observe(4.0)
    assert decayed is not None
    assert held is not None
    assert decayed.stable_concurrency == 0.25
    assert held.stable_concurrency == 1.0  # trailing silence is left out
    assert held.panic_concurrency == 0.0  # ... but it is older than the panic window
    assert silent.observe(7.0) is not None
    assert silent.observe(8.0) is None


def test_burst_after_silence_is_not_diluted() -> None:
    counting = meter(0.0)
    counting.started(0.0)
    counting.finished(1.0)
    for _ in range(3):
        counting.started(100.0)
    observed = counting.observe(101.0)
    assert observed is not None
    assert observed.stable_concurrency == 3.0


def test_report_now_is_the_activator_first_request_stat() -> None:
    counting = meter(50.0)
    assert counting.observe(50.2) is None
    counting.report_now(50.2)
    observed = counting.observe(50.3)
    assert observed is not None
    assert (observed.stable_concurrency, observed.stable_rps) == (1.0, 1.0)


def test_configure_resizes_windows_and_keeps_data() -> None:
    counting = meter(0.0)
    counting.started(0.0)
    counting.observe(3.0)
    counting.configure(Windows(stable=60.0, panic=6.0, weighted=False))
    observed = counting.observe(3.0)
    assert observed is not None
    assert observed.stable_concurrency == 1.0


def test_collector_keeps_one_meter_per_revision() -> None:
    collector = MetricsCollector(default_windows=WINDOWS, bucket_size=1.0)
    key = ("default", "hello-00001")
    assert collector.observe(key, now=0.0, reporting=True) is None
    first = collector.meter(key, now=0.0)
    assert collector.meter(key, now=1.0) is first
    first.started(0.0)
    observed = collector.observe(key, now=2.0, reporting=True)
    assert observed is not None
    assert observed.stable_concurrency == 1.0
    collector.forget(key)
    assert collector.observe(key, now=2.0, reporting=True) is None
