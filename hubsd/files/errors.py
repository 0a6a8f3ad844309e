"""Errors of the file stores."""


class FileMissing(KeyError):
    """No blob is stored under that id."""


class BadFileId(ValueError):
    """A file id that is not of the form the stores accept."""


class FileStoreUnavailable(RuntimeError):
    """The blob directory cannot be used; the message says which and why."""


class WrongKey(Exception):
    """The token given does not open this file (or its header was altered)."""


class FileDamaged(Exception):
    """A stored file is not in the format hubsd writes, or a chunk fails its tag."""
