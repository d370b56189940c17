"""E1: dropout against its stochastic modified equations on the theory's two-layer net.

``twolayer``: the net, its modified loss and the dropout noise Sigma in closed form (with an exact
square-root factor); ``simulate``: dropout GD, the order-1 and order-2 SMEs, SVAG and gradient flow
over many paths (the ``sme_cell`` rule); ``weak``: weak errors and fitted orders from the cells'
batch means (torch-free, for the figures).
"""
