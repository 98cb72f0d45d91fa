"""The data root's layout (design section 3). Every path any job reads or writes is named here.

    DATA_ROOT/
      raw/<source>/*.parquet        identity zone: source extracts
      truth/records/, truth/persons/  ground truth of synthetic data (evaluation only)
      optouts/*.csv                 source records whose subjects objected (docs/research-zone.md)
      work/<run>/                   identity zone: a linkage run
      work/LATEST                   id of the newest complete linkage run
      linked/<run>/                 research zone: pseudonymised longitudinal tables
      linked/LATEST                 id of the newest complete build
      linked/truth/                 the same tables built on ground truth (evaluation only)
      published/<release_id>/       output zone: disclosure-controlled cells + manifest.json
      published/CURRENT             id of the release the API serves
      access/access.db, audit.db    analysts, tokens; the hash-chained request log

The data root is `--data`, else LEO_DATA, else ./data. It may be a local path or a
Hadoop-compatible URI (hdfs://, s3a://, file://) for the Spark jobs; the API and the access
commands need a local path.
"""

from __future__ import annotations

import os
import posixpath
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlparse

DATA_ENV = "LEO_DATA"
DEFAULT_DATA = "./data"

SOURCES = ("ks4", "ks5", "he", "employments", "benefits")
LATEST = "LATEST"  # pointer file naming the newest complete run (work/, linked/)
TRUTH_RUN = "truth"  # linked/truth/: `leo build --truth`, never pointed to by linked/LATEST


def is_uri(path: str) -> bool:
    scheme = urlparse(path).scheme
    return len(scheme) > 1  # a Windows drive letter is not a scheme


def normalise_root(path: str) -> str:
    """Absolute local path, or the URI as given (without a trailing slash)."""
    if is_uri(path):
        parsed = urlparse(path)
        if parsed.scheme == "file":
            return os.path.abspath(parsed.path)
        return path.rstrip("/")
    return os.path.abspath(os.path.expanduser(path))


def resolve_data_root(arg: str | None) -> DataRoot:
    return DataRoot(normalise_root(arg or os.environ.get(DATA_ENV) or DEFAULT_DATA))


def new_run_id(prefix: str = "") -> str:
    """Sortable and unique: UTC time to the second plus 4 random hex digits."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{prefix}{stamp}-{secrets.token_hex(2)}"


@dataclass(frozen=True)
class DataRoot:
    root: str  # absolute local path or URI

    @property
    def is_local(self) -> bool:
        return not is_uri(self.root)

    def path(self, *parts: str) -> str:
        return posixpath.join(self.root, *parts)

    def uri(self, *parts: str) -> str:
        """For Spark: local paths become file:// URIs so executors never guess the FS."""
        p = self.path(*parts)
        return p if is_uri(p) else "file://" + p

    # identity zone
    def raw(self, source: str) -> str:
        return self.path("raw", source)

    def truth(self, table: str = "") -> str:
        return self.path("truth", table) if table else self.path("truth")

    def optouts(self) -> str:
        return self.path("optouts")

    def work(self, run: str = "") -> str:
        return self.path("work", run) if run else self.path("work")

    # research zone
    def linked(self, run: str = "") -> str:
        return self.path("linked", run) if run else self.path("linked")

    # output zone
    def published(self, release: str = "") -> str:
        return self.path("published", release) if release else self.path("published")

    def current_pointer(self) -> str:
        return self.path("published", "CURRENT")

    # access control (local only)
    def access_db(self) -> str:
        return self.path("access", "access.db")

    def audit_db(self) -> str:
        return self.path("access", "audit.db")

    def secrets_dir(self) -> str:
        """Where `leo demo` keeps its demo-only pseudonymisation key. Real deployments use
        LEO_PSEUDONYMISATION_KEY or --key-file pointing outside the data root."""
        return self.path("secrets")
