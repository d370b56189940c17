"""The figures' and tables' side of the pipeline, without torch: the shared log-log fit and drift
handlings (``fits``, also used by the noise jobs and the weak orders), statistics over seeds and
fitted relations (``stats``), the tables the notebooks read and the bands they draw (``tables``),
the verdict rules of the claims report (``claims``), the shared plot style (``plotting``) and
the execution of the notebooks (``notebooks``)."""
