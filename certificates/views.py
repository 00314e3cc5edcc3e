"""Certificate pages: mine, download, HR list/revoke/ZIP, and the public verification."""
from certificates import manage_views, my_views, verify_views  # noqa: F401
