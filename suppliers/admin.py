# Feed import admin lives in its own module; importing it registers it.
from suppliers import admin_feeds  # noqa: F401
