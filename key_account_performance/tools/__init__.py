from . import kpi_math
from . import demo_data
