"""The tables behind the figures, one module per analysis, from cached result tables only.

Every figure is two rules: an analysis rule that calls a ``write_*`` function here and writes
``results/analysis/<name>.csv``, and a plot rule that reads those tables and draws
(``mis.figures.<name>.plot``). Nothing here imports matplotlib.
"""
