from . import models


def post_init_hook(env):
    """Courses completed before the module was installed: their last change
    stands for the completion date (Odoo's eLearning keeps none)."""
    env.cr.execute(
        """
        UPDATE slide_channel_partner
           SET key_account_completed_date = write_date::date
         WHERE member_status = 'completed'
           AND key_account_completed_date IS NULL
        """
    )
