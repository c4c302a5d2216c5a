from . import test_kpi_engine
from . import test_kpi_validation
from . import test_security
from . import test_review_workflow
from . import test_improvement_action
from . import test_early_warning
from . import test_review_report
from . import test_review_ui
