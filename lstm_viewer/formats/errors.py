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


def failure_reason(exc: BaseException) -> str:
    """The one-line reason for any exception a loader raised, never a traceback."""
    if isinstance(exc, LoadError):
        return exc.reason
    if isinstance(exc, MemoryError):
        return "not enough memory to read the file"
    # A parser's own exception: its type and first line.
    detail = str(exc).splitlines()[0] if str(exc) else ""
    return f"could not read the file ({type(exc).__name__}{': ' + detail if detail else ''})"
