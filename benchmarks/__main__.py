import warnings

# The peers' deprecation and security notices (Authlib's move to joserfc, RFC 9864's
# EdDSA) are not what this command reports.
warnings.simplefilter("ignore")

from .run import main  # noqa: E402

raise SystemExit(main())
