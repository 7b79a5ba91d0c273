"""The auth server's throughput beside djangorestframework-simplejwt (issue 5)."""
