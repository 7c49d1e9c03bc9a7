"""Pure workflow rules of the service: no Flask, no database, no ``catalogue_svc``.

Everything ``workflows.requests`` and ``workflows.validation`` export (their ``__all__``) is
exported here too.
"""

from workflows import requests as _requests
from workflows import validation as _validation
from workflows.requests import *  # noqa: F403
from workflows.validation import *  # noqa: F403

__all__ = [*_requests.__all__, *_validation.__all__]
