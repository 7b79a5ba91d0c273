"""Runners for published test vectors (RFC 7515/7520/7797/8037 examples, Wycheproof)."""
