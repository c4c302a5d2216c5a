from . import kpi_math
