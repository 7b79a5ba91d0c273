"""tokensmith: a JWT authentication system for Python."""

__version__ = "0.1.0"
