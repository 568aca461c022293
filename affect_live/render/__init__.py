"""Drawing results: the overlay (boxes, labels, mesh contours) shared by the app and the
annotated video."""
