"""The one exception every ``fdl`` command raises for a user mistake."""


class UsageError(Exception):
    """A user mistake: the command prints one line and exits with status 2."""
