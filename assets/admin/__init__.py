"""The core's admin: the access-scoped base every app's admin builds on, and the pages of the lineage core's models.

Other apps import the base from here (`from assets.admin import VisibleAdmin, admin_extend …`); importing the package
registers every core page.
"""

from assets.admin import audit, briefs, credentials, inputs, lineage, versions  # noqa: F401 (their admin classes register on import)
from assets.admin.display import thumbnail
from assets.admin.visible import (
    ReadOnlyAdmin,
    ReadOnlyInline,
    VisibleAdmin,
    VisibleChoices,
    admin_extend,
    viewer_panel,
)

__all__ = [
    "ReadOnlyAdmin",
    "ReadOnlyInline",
    "VisibleAdmin",
    "VisibleChoices",
    "admin_extend",
    "thumbnail",
    "viewer_panel",
]

from assets import admin_rights  # noqa: E402,F401 (licences and the version's rights panels register on import)
