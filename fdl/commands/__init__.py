"""The jobs behind the ``fdl`` command, callable from Python too."""

from fdl.commands._errors import UsageError as UsageError
from fdl.commands._evaluate import run_evaluate as run_evaluate
from fdl.commands._predict import run_predict as run_predict
from fdl.commands._train import TrainConfig as TrainConfig
from fdl.commands._train import run_sanity as run_sanity
from fdl.commands._train import run_train as run_train
from fdl.commands._trained import Trained as Trained
from fdl.commands._trained import load_trained as load_trained
