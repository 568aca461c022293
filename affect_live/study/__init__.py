"""From recordings to findings: per-person baselines applied to recordings, stimulus-locked
epochs, synchrony between people, and the study report across participants (docs/study.md).

Offline analyses of finished recordings (CSV, sidecar, events file), read through
`report.data.read_recording`; pandas for the tables, scipy for the statistics."""
