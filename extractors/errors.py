"""Errors raised while reading a document.

    InboundError                  every error of ours; `code` is stable, `message` is the clerk's sentence
     +-- InputError               the file itself is the problem; final, never retried
     |    +-- EmptyFile           (empty_file)
     |    +-- CorruptFile         (corrupt_file)
     |    +-- EncryptedFile       (encrypted_document)
     |    +-- TooLarge            (too_large: pages, pixels, bytes, unpacked size)
     |    +-- UnsupportedType     (unsupported_type)
     |    +-- UnsafeContent       (unsafe_xml: entities, external references)
     +-- ReadError                a reader failed on a file that looked valid (read_failed)
     +-- ReadTimeout              the per-document time limit ran out (timeout)

Readers translate library exceptions at their edge with `raise CorruptFile(...) from exc`.
"""

from __future__ import annotations


class InboundError(Exception):
    code = "inbound_error"

    def __init__(self, message: str, *, detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail  # for the log, not for the clerk


class InputError(InboundError):
    code = "bad_input"


class EmptyFile(InputError):
    code = "empty_file"


class CorruptFile(InputError):
    code = "corrupt_file"


class EncryptedFile(InputError):
    code = "encrypted_document"


class TooLarge(InputError):
    code = "too_large"


class UnsupportedType(InputError):
    code = "unsupported_type"


class UnsafeContent(InputError):
    code = "unsafe_xml"


class ReadError(InboundError):
    code = "read_failed"


class ReadTimeout(InboundError):
    code = "timeout"
