from . import test_kpi_engine
from . import test_kpi_validation
