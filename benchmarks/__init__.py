"""tokensmith's benchmark suite (issue 4): ``python -m benchmarks`` or ``make bench``."""
