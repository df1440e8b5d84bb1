"""Features for the preprocessing stage: what the ingested rows hold, per-row features (built-in jet features,
substructure, stored columns) and per-element features of sets."""
