from django.apps import AppConfig


class BenchConfig(AppConfig):
    """The benchmark's own code: the load generator and `generate_load` (style.md: benchmark
    code stays out of the apps). Installed by the development, test and bench settings
    only, never by production: synthetic patients have no place in a practice's data."""

    name = "bench"
    label = "bench"
    verbose_name = "Benchmarks"
