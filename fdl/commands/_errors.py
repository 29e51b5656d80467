"""The exceptions every ``fdl`` command raises to stop with one line, not a traceback."""


class UsageError(Exception):
    """A user mistake: the command prints one line and exits with status 2."""


class Interrupted(Exception):
    """Ctrl-C: the command prints one line (what was saved, how to go on) and exits 130."""


INTERRUPTED_STATUS = 130  # 128 + SIGINT, as shells report a process stopped by Ctrl-C
