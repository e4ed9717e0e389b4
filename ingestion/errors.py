"""Errors of the ingestion layer; each message names the file or source and says what to do."""


class IngestionError(Exception):
    """Base class: an input could not be ingested."""


class OlistFileError(IngestionError):
    """An Olist file is missing or has the wrong header; nothing was loaded."""


class LakeError(IngestionError):
    """The lake refused an operation (for example an overwrite of an immutable bronze object)."""


class RawMismatchError(IngestionError):
    """Raw does not hold exactly the rows of the bronze loads it was given; the load is not recorded."""


class PipelineBusyError(IngestionError):
    """Another live process is running the same dlt pipeline; nothing was touched."""
