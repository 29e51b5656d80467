"""The jobs behind the ``fdl`` command, callable from Python too."""

from fdl.commands._errors import UsageError as UsageError
from fdl.commands._train import TrainConfig as TrainConfig
from fdl.commands._train import run_sanity as run_sanity
from fdl.commands._train import run_train as run_train
