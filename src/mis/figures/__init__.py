"""One module per paper figure; each reads result tables and writes a vector PDF."""
