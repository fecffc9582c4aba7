"""``stmfnet-trt bench``: latency, throughput, memory and quality per backend and resolution.

``measure.py`` times one backend on one batch of windows; ``suite.py`` runs the grid and compares
every output with the reference backend's; ``report.py`` renders the table, JSON and plots.
"""
