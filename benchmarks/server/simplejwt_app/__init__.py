"""A minimal Django project serving djangorestframework-simplejwt for the benchmark.

Configured from the environment by ``benchmarks.server.run`` (never used elsewhere):
``BENCH_DJANGO_DB`` (the SQLite file), ``BENCH_DJANGO_KEY`` (a PEM file with the ES256
private key), ``BENCH_ARGON2_TIME_COST`` / ``_MEMORY_COST`` / ``_PARALLELISM`` (tokensmith's
argon2id parameters, so a login costs the same hash on both servers).
"""
