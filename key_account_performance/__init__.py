from . import tools
from . import models
from . import wizard


def uninstall_hook(env):
    """Drop the relation view of the contact activity's people (Odoo drops
    the views of the addon's models, not a relation view of its own)."""
    from odoo.tools import drop_view_if_exists

    from .models.key_account_contact_activity import USER_RELATION

    drop_view_if_exists(env.cr, USER_RELATION)
