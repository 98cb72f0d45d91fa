"""User-facing errors: the CLI prints the message and exits 2, without a traceback."""


class LeoError(Exception):
    """A problem the user can fix (bad input, bad config, missing key). The message names
    the file, table, column or key at fault and what was expected."""


class ConfigError(LeoError):
    """A configuration file is missing, unparseable, or holds a value that fails validation."""


class InputError(LeoError):
    """An input table or file cannot be used as a whole (missing column, empty, wrong type)."""
