"""Who validates a request: the duplicate check's decision, as a rule of the guide.

Guide: *« Si votre membre a déjà un numéro de client, inscrivez-le. Le système vérifiera s'il
existe un doublon et un agent validera l'inscription du membre. »* A form declares its rule
(``FormDefinition.validation_rule``); the check gathers the facts and asks :func:`needs_agent`.
"""

from __future__ import annotations

from typing import Literal

__all__ = ["ValidationRule", "needs_agent"]

ValidationRule = Literal["never", "always", "client_number_or_candidates"]


def needs_agent(rule: str, *, conflicts: bool, candidates: bool, client_number: bool) -> bool:
    """Whether an agent must validate the request before it is applied.

    ``conflicts``: another pending request touches the same things (an agent decides which
    goes first, whatever the form); ``candidates``: the duplicate check found existing contacts
    that may be the new person; ``client_number``: the new person came with a client number.
    """
    if conflicts or rule == "always":
        return True
    return rule == "client_number_or_candidates" and (candidates or client_number)
