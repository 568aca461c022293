"""`affect-live report CSV... --out DIR`: index.html with PNG plots and a table per face, from
recordings made by `analyze` or by the app (the CSV and its sidecar)."""
