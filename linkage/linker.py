"""The linkage pipeline on two backends, with one set of step functions:

    link_spark(spark, records, settings)   Spark: any size, local or on a cluster
    link_local(records, settings)          pandas + recordlinkage on one machine (small data)

`records` holds one row per record: `__src` (source name), `__uid` (its unique id) and the
raw input columns the settings name. Both return a `LinkResult` whose `pairs` hold
`__id_l`, `__id_r`, `match_weight`, `match_probability` (pairs at or above
`pairs_min_probability`) and whose `clusters` hold `__id`, `__cluster`; `ids` maps `__id`
back to (`__src`, `__uid`).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from leo.logs import stage
from linkage import blocking, clustering, comparisons, estimate_u, expectation_maximisation, predict
from linkage.model import Model, empty_model
from linkage.settings import Settings
from linkage.standardise import bad_flag, flagged_kinds, standardise_frame, standardised_columns
from linkage.term_frequency import add_tf_local

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)
ID, SRC, UID = blocking.ID, blocking.SRC, blocking.UID


@dataclass
class LinkResult:
    model: Model
    blocking: blocking.BlockingStats
    pairs: Any  # Spark or pandas DataFrame
    clusters: Any
    ids: Any
    histogram: pd.DataFrame  # bin (lower edge of match weight), pairs
    counts: dict[str, Any] = field(default_factory=dict)
    # Spark frames this run cached (pairs and clusters among them): `release` frees them
    cached: list[Any] = field(default_factory=list, repr=False)

    def summary(self) -> dict[str, Any]:
        return {"counts": self.counts, "blocking": self.blocking.as_dict()}

    def release(self) -> None:
        """Unpersist every cached frame, once the caller has written what it needs: a
        driver that links many times (a long session, the tests) would otherwise keep
        each run's blocks and plans."""
        for df in self.cached:
            df.unpersist()
        self.cached.clear()


def record_id(source: str, uid: str) -> int:
    """60-bit id from a hash of source and unique id (same value as `record_id_column`)."""
    return int(hashlib.sha256(f"{source}\x1f{uid}".encode()).hexdigest()[:15], 16)


def record_id_column(src: Any, uid: Any) -> Any:
    from pyspark.sql import functions as F

    return F.conv(F.substring(F.sha2(F.concat_ws("\x1f", src, uid), 256), 1, 15), 16, 10).cast(
        "long"
    )


def _ddl(cols: dict[str, str]) -> str:
    return ", ".join(f"`{k}` {v}" for k, v in cols.items())


def _std_layout(settings: Settings) -> dict[str, str]:
    layout = {ID: "bigint", SRC: "string", **standardised_columns(settings)}
    layout.update({blocking.key_column(i): "string" for i in range(len(settings.blocking_rules))})
    return layout


def standardise_batch(pdf: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """Raw records -> standardised records with block keys (for mapInPandas and local)."""
    std = standardise_frame(pdf, settings)
    keys = blocking.block_keys(std, settings)
    out = std.assign(**keys)
    return out[list(_std_layout(settings))]


def _source_sizes(records: pd.DataFrame) -> dict[str, int]:
    return {str(k): int(v) for k, v in records[SRC].value_counts().items()}


def _bad_counts(std: pd.DataFrame | dict[str, int], settings: Settings) -> dict[str, int]:
    out = {}
    for comp in settings.comparisons:
        if comp.kind in flagged_kinds():
            col = bad_flag(comp.column)
            out[comp.column] = (
                int(std[col].sum()) if isinstance(std, pd.DataFrame) else int(std[col] or 0)
            )
    return out


# --- Spark ---------------------------------------------------------------------------------


def encode_spark(
    spark: SparkSession, std: DataFrame, settings: Settings
) -> tuple[DataFrame, comparisons.Dictionaries]:
    """One aggregation counts every value of every coded column; on the driver these become
    the dictionaries (sorted distinct values per dictionary) and the term frequencies; the
    records then get codes (-1 missing) and `<column>__tf` in one Python pass with the
    dictionaries broadcast, without shuffling the records (a broadcast join per column
    cost a driver-side table and a plan analysis each: seconds per column at 100k persons)."""
    from pyspark.sql import functions as F

    coded = comparisons.coded_side_columns(settings)
    tf_of = {comp.column for comp in settings.comparisons if comp.tf}
    tf_cols = [c for c in coded if c in tf_of]
    counts = (
        blocking.stacked(std, {c: F.col(c) for c in coded})
        .where(F.col("v").isNotNull())
        .groupBy("col", "v")
        .agg(F.count("*").alias("n"))
        .toPandas()
    )
    dicts = comparisons.Dictionaries()
    for c in coded:
        dicts.columns[c] = comparisons.dictionary_of(c, settings)
    for name in set(dicts.columns.values()):
        cols = [c for c in coded if dicts.columns[c] == name]
        values = np.array(sorted(counts.loc[counts["col"].isin(cols), "v"].unique()), dtype=object)
        dicts.values[name] = values
    # frequency of each dictionary value within the column, by code (NaN where absent),
    # with one NaN more at the end, where code -1 (missing) lands
    freqs: dict[str, np.ndarray] = {}
    for c in tf_cols:
        own = counts[counts["col"] == c]
        freq = own.set_index("v")["n"] / max(int(own["n"].sum()), 1)
        by_code = pd.Series(dicts.of(c)).map(freq).astype("float64").to_numpy()
        freqs[c] = np.append(by_code, np.nan)
    shared = spark.sparkContext.broadcast((dicts, freqs))
    layout = {f.name: f.dataType.simpleString() for f in std.schema.fields}
    layout.update({c: "int" for c in coded})
    layout.update({comparisons.tf_column_of(c): "double" for c in tf_cols})

    def encode_fn(batches: Any) -> Any:
        d, fr = shared.value
        index = {name: pd.Index(v) for name, v in d.values.items()}
        for pdf in batches:
            for c in coded:
                codes = index[d.columns[c]].get_indexer(pdf[c]).astype(np.int32)
                if c in fr:
                    pdf[comparisons.tf_column_of(c)] = fr[c][codes]
                pdf[c] = codes
            yield pdf[list(layout)]

    return std.mapInPandas(encode_fn, _ddl(layout)), dicts


def link_spark(spark: SparkSession, records: DataFrame, settings: Settings) -> LinkResult:
    """The Spark pipeline; on failure the frames it cached are freed (else the caller frees
    them with `LinkResult.release` after writing)."""
    cached: list[DataFrame] = []
    try:
        return _link_spark(spark, records, settings, cached)
    except BaseException:
        for df in cached:
            df.unpersist()
        raise


def _link_spark(
    spark: SparkSession,
    records: DataFrame,
    settings: Settings,
    cached: list[DataFrame],
) -> LinkResult:
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    layout = _std_layout(settings)
    cached_aqe = "spark.sql.optimizer.canChangeCachedPlanOutputPartitioning"
    if spark.conf.get(cached_aqe, None) is None:  # see spark_jobs/session.py
        spark.conf.set(cached_aqe, "true")
    with stage(log, "standardise") as s:
        raw = records.withColumn(ID, record_id_column(F.col(SRC), F.col(UID)))
        ids = raw.select(ID, SRC, UID)
        inputs = [ID, SRC, *settings.input_columns()]

        def std_fn(batches: Any) -> Any:
            for pdf in batches:
                yield standardise_batch(pdf, settings)

        # the inputs may be one file (one partition): spread the Python work over the cores
        parts = max(spark.sparkContext.defaultParallelism, raw.rdd.getNumPartitions())
        std = raw.select(*inputs).repartition(parts).mapInPandas(std_fn, _ddl(layout))
        std = std.persist(StorageLevel.MEMORY_AND_DISK)
        cached.append(std)
        bad_cols = [bad_flag(c.column) for c in settings.comparisons if c.kind in flagged_kinds()]
        agg = (  # also fills std's cache before the encoding reads it
            std.groupBy(SRC)
            .agg(
                F.count("*").alias("n"),
                F.countDistinct(ID).alias("ids"),
                *[F.sum(c).alias(c) for c in bad_cols],
            )
            .collect()
        )
        coded, dicts = encode_spark(spark, std, settings)
        coded = coded.persist(StorageLevel.MEMORY_AND_DISK)
        cached.append(coded)
        s["distinct values"] = sum(len(v) for v in dicts.values.values())
        sizes = {r[SRC]: int(r["n"]) for r in agg}
        n_records = sum(sizes.values())
        # 60-bit hashes: a collision within a source is checked here (about 1 in 10^5 at
        # ten million records); across sources it would need the same odds again
        collisions = n_records - sum(int(r["ids"]) for r in agg)
        if collisions:
            raise RuntimeError(f"{collisions} record id hash collisions; rename affected ids")
        bad = {c: sum(int(r[c] or 0) for r in agg) for c in bad_cols}
        bad_by_column = _bad_counts(bad, settings)
        s["records"] = n_records
        s["sources"] = len(sizes)
        for col, n in bad_by_column.items():
            s[f"unreadable {col}"] = n

    model = empty_model(settings)
    model.tf_floor = 1.0 / max(n_records, 1)
    with stage(log, "estimate u") as s:
        # Chosen by a hash of the record id, in id order: the same records and pairs however
        # the data is partitioned (Spark's sample() depends on the partitioning, so a cluster
        # run would train on other random pairs than a laptop run).
        fraction = min(1.0, settings.u_sample_records / max(n_records, 1))
        bucket = F.abs(F.xxhash64(F.col(ID), F.lit(settings.seed))) % 1_000_000
        sample = coded.where(bucket < int(fraction * 1_000_000)).toPandas()
        sample = sample.sort_values(ID, kind="stable").reset_index(drop=True)
        std.unpersist()  # the scan filled coded's cache
        s.update(estimate_u.estimate_u(sample, settings, model, dicts))
        s["sampled records"] = len(sample)

    with stage(log, "block and compare") as s:
        side = comparisons.pair_side_columns(settings)
        pairs, stats = blocking.block_pairs_spark(spark, coded, settings, side, cached)
        out_ddl = _ddl(
            {
                f"{ID}_l": "bigint",
                f"{ID}_r": "bigint",
                f"{SRC}_l": "string",
                f"{SRC}_r": "string",
                "__mask": "bigint",
                **dict(comparisons.output_schema(settings)),
            }
        )

        shared = spark.sparkContext.broadcast(dicts)

        def cmp_fn(batches: Any) -> Any:
            d = shared.value
            for pdf in batches:
                yield comparisons.compare_batch(pdf, settings, d)

        compared = pairs.mapInPandas(cmp_fn, out_ddl).persist(StorageLevel.MEMORY_AND_DISK)
        cached.append(compared)
        gcols = [comparisons.gamma_column(c) for c in settings.comparisons]
        patterns = compared.groupBy("__mask", *gcols).agg(F.count("*").alias("n")).toPandas()
        # in a fixed order: EM's floating-point sums must not depend on the partitioning
        patterns = patterns.sort_values(["__mask", *gcols], kind="stable", ignore_index=True)
        n_pairs = int(patterns["n"].sum())
        by_rule = (
            np.bincount(
                blocking.first_rule(patterns["__mask"]),
                weights=patterns["n"],
                minlength=len(stats.rules),
            )
            if n_pairs
            else np.zeros(len(stats.rules))
        )
        for st, n in zip(stats.rules, by_rule, strict=True):
            st.pairs = int(n)
        s["candidate pairs"] = n_pairs
        s["patterns"] = len(patterns)
        s["capped blocks"] = stats.capped_keys
        s["salted blocks"] = sum(r.salted_keys for r in stats.rules)

    with stage(log, "estimate m and prior (EM)") as s:
        total = blocking.total_pairs(settings, sizes)
        expectation_maximisation.fit(patterns, settings, model, total)
        s["prior"] = f"{model.prior:.3g}"

    with stage(log, "predict") as s:
        w = predict.weight_column(model, settings)
        scored = compared.select(
            f"{ID}_l", f"{ID}_r", f"{SRC}_l", f"{SRC}_r", w.alias("match_weight")
        ).withColumn("match_probability", predict.probability_column(F.col("match_weight")))
        hist = (
            scored.groupBy(predict.histogram_bin_column(F.col("match_weight")).alias("bin"))
            .agg(F.count("*").alias("pairs"))
            .toPandas()
            .sort_values("bin")
            .reset_index(drop=True)
        )
        kept = scored.where(F.col("match_probability") >= settings.pairs_min_probability)
        kept = kept.persist(StorageLevel.MEMORY_AND_DISK)
        cached.append(kept)
        links = kept.where(F.col("match_probability") >= settings.threshold.match_probability)
        n_links = links.count()
        s["pairs kept"] = kept.count()
        s["links"] = n_links

    with stage(log, "cluster") as s:
        clusters, cstats = clustering.cluster_spark(
            coded.select(ID, SRC),
            links,
            set(settings.one_record_per_person),
            settings.duplicate_min_probability,
            settings.cluster_driver_max_links,
            n_links,
        )
        clusters = clusters.persist(StorageLevel.MEMORY_AND_DISK)
        cached.append(clusters)
        sizes_by_cluster = clusters.groupBy(clustering.CLUSTER).count()
        row = sizes_by_cluster.agg(
            F.count("*").alias("n"), F.sum((F.col("count") > 1).cast("long")).alias("multi")
        ).collect()[0]
        s["clusters"] = int(row["n"])
        s["multi-record clusters"] = int(row["multi"] or 0)
        s.update(cstats)
    compared.unpersist()
    counts = {
        "records": n_records,
        "records_by_source": sizes,
        "unreadable_values": bad_by_column,
        "candidate_pairs": n_pairs,
        "possible_pairs": total,
        "links": n_links,
        "clusters": int(s["clusters"]),  # type: ignore[call-overload]
        **cstats,
    }
    return LinkResult(model, stats, kept, clusters, ids, hist, counts, cached)


# --- single node ---------------------------------------------------------------------------


def standardise_local(
    records: pd.DataFrame, settings: Settings
) -> tuple[pd.DataFrame, pd.DataFrame, comparisons.Dictionaries]:
    """Records holding `__src`, `__uid` and the input columns -> (their `__id`, `__src` and
    `__uid`; the standardised, dictionary-encoded records with term frequencies; the
    dictionaries)."""
    raw = records.reset_index(drop=True)
    raw[ID] = [record_id(a, b) for a, b in zip(raw[SRC], raw[UID], strict=True)]
    std = add_tf_local(standardise_batch(raw, settings), settings)
    std, dicts = comparisons.encode_local(std, settings)
    return raw[[ID, SRC, UID]], std, dicts


def link_local(records: pd.DataFrame, settings: Settings) -> LinkResult:
    import recordlinkage

    from linkage import compare_features

    logging.getLogger("recordlinkage").setLevel(logging.WARNING)  # it logs each batch twice

    with stage(log, "standardise") as s:
        ids, std, dicts = standardise_local(records, settings)
        sizes = _source_sizes(std)
        bad_by_column = _bad_counts(std, settings)
        s["records"] = len(std)
        for col, n in bad_by_column.items():
            s[f"unreadable {col}"] = n

    model = empty_model(settings)
    model.tf_floor = 1.0 / max(len(std), 1)
    with stage(log, "estimate u") as s:
        n = min(len(std), settings.u_sample_records)
        sample = std.sample(n=n, random_state=settings.seed) if n < len(std) else std
        s.update(estimate_u.estimate_u(sample.reset_index(drop=True), settings, model, dicts))

    with stage(log, "block and compare") as s:
        pairs, stats = blocking.block_pairs_local(std, settings)
        # only the compared columns: recordlinkage copies the frame's rows for every pair
        indexed = std.set_index(ID)[comparisons.pair_side_columns(settings)]
        index = pd.MultiIndex.from_arrays([pairs[f"{ID}_l"], pairs[f"{ID}_r"]])
        features = []
        for comp in settings.comparisons:
            features.append(compare_features.LevelsFeature(comp, dicts))
            if comp.tf:
                features.append(compare_features.TermFrequencyFeature(comp))
        cmp = recordlinkage.Compare(features=features, n_jobs=1)
        levels = (
            cmp.compute(index, indexed)
            if len(index)
            else pd.DataFrame(columns=[f.label for f in features])
        )
        levels = levels.reset_index(drop=True)
        levels["__mask"] = pairs["__mask"].to_numpy()
        gcols = [comparisons.gamma_column(c) for c in settings.comparisons]
        levels[gcols] = levels[gcols].astype("int8")
        patterns = levels.groupby(["__mask", *gcols]).size().rename("n").reset_index()
        s["candidate pairs"] = len(pairs)
        s["capped blocks"] = stats.capped_keys

    with stage(log, "estimate m and prior (EM)") as s:
        total = blocking.total_pairs(settings, sizes)
        expectation_maximisation.fit(patterns, settings, model, total)
        s["prior"] = f"{model.prior:.3g}"

    with stage(log, "predict") as s:
        w = predict.match_weights(levels, model, settings)
        scored = pd.DataFrame(
            {
                f"{ID}_l": pairs[f"{ID}_l"].to_numpy(),
                f"{ID}_r": pairs[f"{ID}_r"].to_numpy(),
                "match_weight": w,
                "match_probability": predict.probability(w),
            }
        )
        hist = (
            pd.DataFrame({"bin": predict.histogram_bin(w)})
            .groupby("bin")
            .size()
            .rename("pairs")
            .reset_index()
        )
        kept = scored[scored["match_probability"] >= settings.pairs_min_probability].reset_index(
            drop=True
        )
        links = kept[kept["match_probability"] >= settings.threshold.match_probability]
        s["links"] = len(links)

    with stage(log, "cluster") as s:
        cl, refused = clustering.cluster_local(
            std[[ID, SRC]],
            links,
            set(settings.one_record_per_person),
            settings.duplicate_min_probability,
        )
        clusters = pd.DataFrame({ID: std[ID].to_numpy(), clustering.CLUSTER: cl.to_numpy()})
        s["clusters"] = clusters[clustering.CLUSTER].nunique()
        s["pairs refused by guard"] = refused
    counts = {
        "records": len(std),
        "records_by_source": sizes,
        "unreadable_values": bad_by_column,
        "candidate_pairs": len(pairs),
        "possible_pairs": total,
        "links": len(links),
        "clusters": int(clusters[clustering.CLUSTER].nunique()),
        "pairs refused by guard": refused,
    }
    return LinkResult(model, stats, kept, clusters, ids, hist, counts)
