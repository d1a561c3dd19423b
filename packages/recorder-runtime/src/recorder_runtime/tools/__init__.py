"""Tools that read finished traces (``recorder-runtime inspect``); never used while recording."""
