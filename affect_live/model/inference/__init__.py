"""Running a bundle: the per-frame model, the per-face ring buffers and window statistics, the
heads, and the engine that ties them together for the pipeline."""
