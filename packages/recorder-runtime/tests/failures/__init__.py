"""The failure-path suite (issue 7): reliability.md §5 attacked end to end."""
