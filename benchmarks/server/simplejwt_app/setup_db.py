"""``python -m benchmarks.server.simplejwt_app.setup_db N PASSWORD``: migrate the SQLite
file and create users ``bench0`` .. ``bench{N-1}`` with PASSWORD."""

from __future__ import annotations

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.server.simplejwt_app.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    from django.contrib.auth import get_user_model

    count, password = int(sys.argv[1]), sys.argv[2]
    users = get_user_model()
    for i in range(count):
        users.objects.create_user(username=f"bench{i}", password=password)


if __name__ == "__main__":
    main()
