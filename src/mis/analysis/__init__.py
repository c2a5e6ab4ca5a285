"""The tables behind the figures, one module per analysis, from cached result tables only (no
torch, no matplotlib).

Every figure is an analysis rule, whose stage (``mis.stages.analysis``, and the training, SAE and
IMI stages) computes its tables with these functions and writes them under ``results/analysis/``,
and a plot rule that reads those tables and only draws (``mis.figures``; ``mis.figures.FIGURES``
lists each figure's tables).
"""
