from . import kpi_math
from . import payout_curve
from . import demo_data
