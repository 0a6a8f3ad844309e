"""Errors of the file stores."""


class FileMissing(KeyError):
    """No blob is stored under that id."""


class BadFileId(ValueError):
    """A file id that is not of the form the stores accept."""


class FileStoreUnavailable(RuntimeError):
    """The blob directory cannot be used; the message says which and why."""
