"""A session: one analysis from its source to its outputs. `analyze` runs one per file; the
app's controller (`live.LiveSession`) runs one at a time on whatever the user opens. Both feed
the same output fan-out (`outputs.Outputs`), so they write the same files and statuses."""
