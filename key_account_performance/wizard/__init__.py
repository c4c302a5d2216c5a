from . import key_account_review_reject_wizard
