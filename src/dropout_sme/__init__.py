"""dropout_sme: the logic behind the pipeline of "Stochastic Modified Equations and Dynamics of
Dropout Algorithm" (Zhang, Li, Luo, Xu; ICLR 2024).

The Snakemake rules call thin scripts in ``scripts/``; everything they do lives here.
"""

__version__ = "0.1.0"
