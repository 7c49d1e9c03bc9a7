"""Pure workflow rules of the service: no Flask, no database, no ``catalogue_svc``.

Everything ``workflows.requests`` exports (its ``__all__``) is exported here too.
"""

from workflows.requests import *  # noqa: F403
from workflows.requests import __all__ as __all__
