"""Machine Interpretability Score (MIS): per-unit interpretability of vision models without humans.

Reproduction of Zimmermann, Klindt & Brendel (NeurIPS 2024). The modules hold the tested logic;
the Snakemake scripts in ``workflow/scripts`` are thin adapters around them.
"""

__version__ = "0.1.0"
