"""Settings, read from the environment. One module per integration."""

from .base import *  # noqa: F401,F403
from .billing import *  # noqa: F401,F403
from .celery import *  # noqa: F401,F403
from .email import *  # noqa: F401,F403
from .payments import *  # noqa: F401,F403
from .security import *  # noqa: F401,F403
from .server import *  # noqa: F401,F403
