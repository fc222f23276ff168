"""Global autoscaler settings: Knative's ``config-autoscaler`` ConfigMap as a value.

Defaults are Knative's code defaults (``pkg/autoscaler/config/config.go``). Durations
are float seconds on the same monotonic clock the autoscaler decides with. Unlike
Knative, windows shorter than 6 s are accepted here so that tests and a development
``unkai up`` can use short windows; revision annotations still go through Knative's
validation (``unkai.api.knative.autoscaling``), which keeps their ranges.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AutoscalerConfig:
    """What ``config-autoscaler`` says, plus the two fixed intervals of the KPA loop.

    ``container_concurrency_target_percentage`` follows Knative's backward
    compatibility: a value ≤ 1 is read as a fraction, a larger one as a percentage.
    ``activation_timeout`` is the Deployment progress deadline (600 s) plus Knative's
    30 s buffer: a revision stuck activating that long is scaled to zero.
    """

    container_concurrency_target_default: float = 100.0
    container_concurrency_target_percentage: float = 70.0
    requests_per_second_target_default: float = 200.0
    target_burst_capacity: float = 211.0
    stable_window: float = 60.0
    panic_window_percentage: float = 10.0
    panic_threshold_percentage: float = 200.0
    max_scale_up_rate: float = 1000.0
    max_scale_down_rate: float = 2.0
    enable_scale_to_zero: bool = True
    scale_to_zero_grace_period: float = 30.0
    scale_to_zero_pod_retention_period: float = 0.0
    initial_scale: int = 1
    allow_zero_initial_scale: bool = False
    min_scale: int = 0
    max_scale: int = 0
    max_scale_limit: int = 0
    scale_down_delay: float = 0.0
    activation_timeout: float = 630.0
    tick_interval: float = 2.0
    bucket_size: float = 1.0

    def __post_init__(self) -> None:
        problems = [
            message
            for broken, message in (
                (self.max_scale_up_rate <= 1, "max-scale-up-rate must be greater than 1"),
                (self.max_scale_down_rate <= 1, "max-scale-down-rate must be greater than 1"),
                (self.stable_window <= 0, "stable-window must be positive"),
                (
                    not 1 <= self.panic_window_percentage <= 100,
                    "panic-window-percentage must be in [1, 100]",
                ),
                (self.panic_threshold_percentage <= 100, "panic-threshold-percentage must be >100"),
                (self.scale_to_zero_grace_period <= 0, "scale-to-zero-grace-period must be >0"),
                (self.scale_to_zero_pod_retention_period < 0, "pod retention must be ≥0"),
                (self.scale_down_delay < 0, "scale-down-delay must be ≥0"),
                (self.target_utilization <= 0, "target percentage must be positive"),
                (
                    self.target_burst_capacity < 0 and self.target_burst_capacity != -1,
                    "target-burst-capacity must be -1, 0 or positive",
                ),
                (self.min_scale < 0 or self.max_scale < 0, "min/max-scale must be ≥0"),
                (0 < self.max_scale < self.min_scale, "max-scale must be ≥ min-scale"),
                (
                    self.initial_scale < 0
                    or (self.initial_scale == 0 and not self.allow_zero_initial_scale),
                    "initial-scale must be ≥1 unless allow-zero-initial-scale",
                ),
                (self.tick_interval <= 0 or self.bucket_size <= 0, "intervals must be positive"),
            )
            if broken
        ]
        if problems:
            raise ValueError("; ".join(problems))

    @property
    def target_utilization(self) -> float:
        """The utilization fraction (0.7 by default)."""
        percentage = self.container_concurrency_target_percentage
        return percentage if percentage <= 1 else percentage / 100
