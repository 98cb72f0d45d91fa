"""How much direct-link recall the compared fields allow at all: an upper bound that no
scoring of the candidate pairs can pass, set beside what the engine's model reaches.

    python bench/ceiling.py --persons 100000 [--work /tmp/linkage-bench] [--precision 0.995]

Reads the identity-profile table and the engine's fitted model that bench/linkage.py leaves
under --work (run it first with `--engines leo --keep`). Recomputes every candidate pair's
comparison vector on one node with the engine's own code (linkage/: standardise, block,
compare; the same functions Spark runs in mapInPandas), then groups the pairs by everything
a scorer may use: the level of each comparison and the term frequency of each agreeing
name (in bins a factor of four wide). Pairs in one group look alike to any model, so the
best any scorer can do is to take whole groups, purest first, until precision would fall
below --precision (and a share of the next group: the fractional optimum, so a bound even
for a randomised rule). It is in-sample (the groups are chosen knowing the truth), so
optimistic. Recall counts all true pairs, those no blocking rule compares included.

A ceiling below a target says the target needs other evidence (another field, or the
transitive evidence clustering uses), not a better model. Prints the model's own figures
on the same pairs, and the largest groups mixing true and false pairs. Run by hand.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != REPO / "bench"]
sys.path.insert(0, str(REPO))


def comparison_vectors(profiles: Path, settings_file: Path) -> tuple[object, object, int]:
    """(pairs: record ids, gamma_* and tf_* columns and `true`; settings; all true pairs)."""
    import numpy as np
    import pandas as pd

    from linkage import blocking, comparisons
    from linkage.inputs import check_pandas
    from linkage.linker import ID, SRC, UID, standardise_local
    from linkage.settings import load_settings

    settings = load_settings(settings_file)
    df = pd.read_parquet(profiles)
    truth = df.set_index(settings.unique_id_column)["person_id"]
    df, _ = check_pandas("profiles", df, settings)
    df = df[df["__reason"].isna()]
    raw = pd.DataFrame(
        {
            SRC: df[settings.source_column].astype(str).to_numpy(),
            UID: df[settings.unique_id_column].astype(str).to_numpy(),
            **{c: df[c].to_numpy() for c in settings.input_columns()},
        }
    )
    ids, std, dicts = standardise_local(raw, settings)
    person = pd.Series(truth.loc[ids[UID]].to_numpy(), index=ids[ID].to_numpy())
    pairs, _ = blocking.block_pairs_local(std, settings)
    position = pd.Series(np.arange(len(std)), index=std[ID].to_numpy())
    i = position.loc[pairs[f"{ID}_l"]].to_numpy()
    j = position.loc[pairs[f"{ID}_r"]].to_numpy()
    levels = comparisons.compare_indexed(std, i, j, settings, dicts)
    levels[f"{ID}_l"] = pairs[f"{ID}_l"].to_numpy()
    levels[f"{ID}_r"] = pairs[f"{ID}_r"].to_numpy()
    levels["true"] = (
        person.loc[pairs[f"{ID}_l"]].to_numpy() == person.loc[pairs[f"{ID}_r"]].to_numpy()
    )
    sizes = person.value_counts().to_numpy()
    return levels, settings, int((sizes * (sizes - 1) // 2).sum())


def ceiling(groups: object, actual: int, precision: float) -> tuple[float, float]:
    """(recall, precision) of the purest groups first, as far as `precision` allows."""
    import numpy as np

    g = groups.assign(purity=groups["t"] / (groups["t"] + groups["f"]))
    g = g.sort_values(["purity", "t"], ascending=False)
    t, f = g["t"].to_numpy(float), g["f"].to_numpy(float)
    tp, fp = np.cumsum(t), np.cumsum(f)
    ok = tp * (1 - precision) - fp * precision >= 0  # tp / (tp + fp) >= precision
    k = int(np.argmin(ok)) if not ok.all() else len(ok)
    tp0, fp0 = (tp[k - 1], fp[k - 1]) if k else (0.0, 0.0)
    if k < len(ok):  # a share x of group k, at the limit: tp0 + x t = p (tp0 + fp0 + x (t + f))
        slack = tp0 * (1 - precision) - fp0 * precision
        per_share = f[k] * precision - t[k] * (1 - precision)
        x = min(1.0, slack / per_share) if per_share > 0 else 1.0
        tp0, fp0 = tp0 + x * t[k], fp0 + x * f[k]
    return tp0 / actual, tp0 / (tp0 + fp0) if tp0 + fp0 else 1.0


def scored(
    levels: object, model: object, settings: object, actual: int, precision: float, label: str
) -> dict[str, float]:
    """Recall and precision at the settings' threshold, and the best recall any threshold
    gives at `precision`."""
    import numpy as np

    from linkage import predict

    true = levels["true"].to_numpy()
    prob = predict.probability(predict.match_weights(levels, model, settings))
    link = prob >= settings.threshold.match_probability
    tp = int((link & true).sum())
    order = np.argsort(-prob, kind="stable")
    ctp, cfp = np.cumsum(true[order]), np.cumsum(~true[order])
    ok = ctp >= precision * (ctp + cfp)
    return {
        f"{label} at its threshold: recall": round(tp / actual, 5),
        f"{label} at its threshold: precision": round(tp / max(int(link.sum()), 1), 5),
        f"{label} at the best threshold for the precision: recall": (
            round(float(ctp[ok].max()) / actual, 5) if ok.any() else 0.0
        ),
    }


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--persons", type=int, default=100_000)
    ap.add_argument("--work", type=Path, default=Path("/tmp/linkage-bench"))
    ap.add_argument("--precision", type=float, default=0.995)
    ap.add_argument("--tf-bits", type=float, default=2.0, help="width of a frequency bin")
    args = ap.parse_args()
    import numpy as np

    from linkage import comparisons
    from linkage.expectation_maximisation import M_FLOOR
    from linkage.model import Model

    d = args.work / f"p{args.persons}"
    levels, settings, actual = comparison_vectors(d / "profiles.parquet", d / "leo-settings.yaml")
    gcols = [comparisons.gamma_column(c) for c in settings.comparisons]
    tcols = [comparisons.tf_output_column(c) for c in settings.comparisons if c.tf]
    # term frequencies in bins a factor of `2 ** tf_bits` wide: grouped exactly, most groups
    # would hold one pair and be pure by construction, a bound on nothing
    keyed = levels[gcols].copy()
    for c in tcols:
        keyed[c] = np.round(np.log2(levels[c]) / args.tf_bits).fillna(99.0)
    true = levels["true"].to_numpy()
    result: dict[str, object] = {
        "persons": args.persons,
        "true pairs": actual,
        "candidate pairs": len(levels),
        "true pairs compared": int(true.sum()),
        "recall of blocking": round(true.sum() / actual, 5),
    }
    tf_name = f"levels and term frequencies (bins of {args.tf_bits:g} bits)"
    by_levels = None
    for name, cols in (("levels", gcols), (tf_name, gcols + tcols)):
        groups = (
            keyed[cols]
            .assign(t=true, f=~true)
            .groupby(cols, sort=False)[["t", "f"]]
            .sum()
            .reset_index()
        )
        by_levels = groups if by_levels is None else by_levels
        r, p = ceiling(groups, actual, args.precision)
        result[f"ceiling on {name}: groups"] = len(groups)
        result[f"ceiling on {name}: recall"] = round(r, 5)
        result[f"ceiling on {name}: precision"] = round(p, 5)
    model_file = d / "out-leo" / "model.json"
    if model_file.exists():
        model = Model.from_json(model_file.read_text())
        result.update(scored(levels, model, settings, actual, args.precision, "model"))
        # the same Fellegi-Sunter scoring with each m taken from the truth (u kept): what
        # perfect parameters would give, so the part of a shortfall EM's estimates explain
        truthful = Model.from_json(model.to_json())
        matched = levels[true]
        for comp in settings.comparisons:
            g = matched[comparisons.gamma_column(comp)]
            share = g[g >= 0].value_counts(normalize=True)
            cm = truthful.by_name(comp.name)
            cm.m = [max(float(share.get(k, 0.0)), M_FLOOR) for k in range(len(cm.m))]
        result.update(
            scored(levels, truthful, settings, actual, args.precision, "model, m from truth")
        )
    mixed = by_levels[(by_levels["t"] > 0) & (by_levels["f"] > 0)]
    mixed = mixed.assign(least=np.minimum(mixed["t"], mixed["f"]))
    names = {comparisons.gamma_column(c): c for c in settings.comparisons}
    print(json.dumps(result, indent=1))
    print("largest mixed groups (levels only): true, false, levels")
    for _, row in mixed.sort_values("least", ascending=False).head(8).iterrows():
        desc = ", ".join(
            f"{names[g].name}="
            + ("missing" if row[g] < 0 else comparisons.level_names(names[g])[int(row[g])])
            for g in gcols
        )
        print(f"  {int(row['t']):>7,} {int(row['f']):>7,}  {desc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
