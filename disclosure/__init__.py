"""Disclosure control of releases (output zone): the policy (conf/disclosure.yaml), its
rules applied to aggregated cells, the cell key method, and the attacker's audit.

Nothing here imports Spark: the rules and the audit run on the driver over aggregated
cells (pandas/numpy, scipy's HiGHS for the linear programmes).
"""
