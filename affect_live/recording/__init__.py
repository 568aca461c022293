"""The one recorder: CSV rows, events, landmarks and the sidecar (`recording.py`), the CSV
writer that never leaves a partial line (`csv_writer.py`)."""
