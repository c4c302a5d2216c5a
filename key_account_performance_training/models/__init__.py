from . import key_account_kpi
from . import slide_channel_partner
from . import key_account_appraisal_development
from . import key_account_appraisal
