"""The figures' and tables' side of the pipeline, without torch: statistics over seeds and
fitted relations (``stats``, on the package's shared log-log fit and drift handlings,
``dropout_sme.fits``), the tables the notebooks read and the bands they draw (``tables``),
the verdict rules of the claims report (``claims``), the shared plot style (``plotting``) and
the execution of the notebooks (``notebooks``)."""
