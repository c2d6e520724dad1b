"""The one exception type every loader raises for a file it cannot use."""


class LoadError(Exception):
    """A weights file that cannot be loaded; ``str()`` is one clear line.

    Parameters
    ----------
    message : str
        What is wrong, naming the tensor or field at fault.
    path : str, optional
        The file, prefixed to the message when given.
    """

    def __init__(self, message: str, path: str | None = None):
        self.reason = message
        self.path = path
        super().__init__(f"{path}: {message}" if path else message)
