"""The API-side benchmark (issue 7): ``python -m benchmarks.resource [--quick] [--json PATH]``."""
