"""Writing traces: the per-format grammars, streams and readers (``json``, ``binary``)."""
