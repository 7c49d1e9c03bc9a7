"""Catalogue form definitions: one module a form, pure Python and marshmallow (no DB, no Flask).

``forms.registry`` lists them; ``forms.base`` says what a form is; ``forms.profile`` is the
read-only profile view a form checks against; ``forms.changeset`` the operations it produces.
"""
