"""CodeTracer Binary v1 (``trace.bin``): CBOR events in a seekable zstd stream.

See docs/adr for the format decisions (zstd library, CBOR by hand, frames, seek table).
"""
