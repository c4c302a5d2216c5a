from . import kpi_math
from . import payout_curve
