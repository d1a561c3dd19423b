"""The JSON format (``trace.json``): its event grammar."""
