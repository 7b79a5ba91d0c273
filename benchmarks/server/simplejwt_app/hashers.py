"""Django's argon2 hasher with tokensmith's argon2id parameters (from the environment)."""

from __future__ import annotations

import os

from django.contrib.auth.hashers import Argon2PasswordHasher


class BenchArgon2PasswordHasher(Argon2PasswordHasher):
    time_cost = int(os.environ.get("BENCH_ARGON2_TIME_COST", "2"))
    memory_cost = int(os.environ.get("BENCH_ARGON2_MEMORY_COST", "19456"))
    parallelism = int(os.environ.get("BENCH_ARGON2_PARALLELISM", "1"))
