from . import key_account_review_reject_wizard
from . import key_account_appraisal_wizard
