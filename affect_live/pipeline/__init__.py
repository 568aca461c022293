"""From a source to results: sources, the queues, the capture and inference threads, meters."""
