"""Lab Streaming Layer: the data and Markers outlets, and an inlet for another program's markers."""
