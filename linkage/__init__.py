"""Probabilistic record linkage (Fellegi-Sunter, unsupervised), driven by a settings file.

Small public surface, one module per step of the algorithm (Splink's way):

    settings        the settings-file contract (design section 5), validated
    standardise     cleaning: names, nicknames, dates, postcodes, identifiers
    pseudonymise    HMAC-SHA256 record keys and person pseudonyms
    blocking        candidate pairs: a union of blocking rules, skew-safe
    comparisons     comparison levels per kind, vectorised (pandas in, levels out)
    estimate_u      u-probabilities from random pairs
    expectation_maximisation   m-probabilities and the prior from pattern counts
    term_frequency  term-frequency adjustment of exact name agreement
    predict         match weights and probabilities
    clustering      connected components with a guard against chaining
    evaluate        precision, recall, F1, match rates and recall by subgroup
    linker          the two backends: Spark (`link_spark`) and single node (`link_local`)
    model_checks    sanity flags on a fitted model and a run's summary
    report          the quality report: one offline HTML page (inputs: report_inputs,
                    SVG charts: charts)

Entry points: `leo link-tables`, `leo link`, `leo evaluate`, `leo report`, `leo keygen`
(linkage/cli.py).
"""
