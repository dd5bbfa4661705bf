"""Prometheus metrics read from the store at scrape time, so they are right across every
process sharing it: jobs by status, queue depth, and run durations of finished jobs."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from songforge.service.core import SongService


class StoreCollector(Collector):
    def __init__(self, service: SongService) -> None:
        self.service = service

    def collect(self) -> Iterator[Metric]:
        stats = self.service.store.stats()
        jobs = GaugeMetricFamily("songforge_jobs", "Jobs in the store by status", labels=["status"])
        for status, count in sorted(stats.by_status.items()):
            jobs.add_metric([status], count)
        yield jobs
        yield GaugeMetricFamily(
            "songforge_queue_depth",
            "Messages waiting in the job queue (visible or delayed)",
            value=self.service.queue.depth(),
        )
        buckets = [
            (repr(bound), count)
            for bound, count in zip(stats.duration_buckets_s, stats.duration_counts, strict=False)
        ]
        buckets.append(("+Inf", stats.duration_counts[-1]))
        yield HistogramMetricFamily(
            "songforge_job_duration_seconds",
            "Time from first claim to success of generated (not cached) jobs",
            buckets=buckets,
            sum_value=stats.duration_sum_s,
        )


def make_registry(service: SongService) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(service))
    return registry
