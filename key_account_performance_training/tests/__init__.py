from . import test_training
from . import test_training_i18n
