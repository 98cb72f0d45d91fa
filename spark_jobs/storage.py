"""Atomic outputs on any Hadoop-compatible filesystem (file://, hdfs://, s3a://), through the
JVM's FileSystem API, so jobs never assume the driver's disk.

The pattern (design section 3): write a new directory under a hidden temporary sibling, then
rename it into place; small pointer files (CURRENT, LATEST) are written beside and renamed
over the old one. Readers skip names starting with "." or "_", so a crash leaves nothing a
reader would pick up, and `clean_stale` removes the leftovers on the next run.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


class HadoopStorage:
    def __init__(self, spark: SparkSession) -> None:
        self._jvm: Any = spark._jvm  # type: ignore[attr-defined]
        self._conf: Any = spark._jsc.hadoopConfiguration()  # type: ignore[attr-defined]
        self._gateway: Any = spark.sparkContext._gateway  # type: ignore[attr-defined]

    def _path(self, uri: str) -> tuple[Any, Any]:
        path = self._jvm.org.apache.hadoop.fs.Path(uri)
        return path.getFileSystem(self._conf), path

    def exists(self, uri: str) -> bool:
        fs, path = self._path(uri)
        return bool(fs.exists(path))

    def mkdirs(self, uri: str) -> None:
        fs, path = self._path(uri)
        fs.mkdirs(path)

    def delete(self, uri: str, recursive: bool = True) -> None:
        fs, path = self._path(uri)
        fs.delete(path, recursive)

    def list_names(self, uri: str) -> list[str]:
        """Names directly under `uri`, hidden ones (".x", "_x") left out; [] if absent."""
        fs, path = self._path(uri)
        if not fs.exists(path):
            return []
        names = [s.getPath().getName() for s in fs.listStatus(path)]
        return sorted(n for n in names if not n.startswith((".", "_")))

    def list_files(self, uri: str) -> list[tuple[str, int, bool]]:
        """(name, length in bytes, is a folder) of each entry directly under `uri`, hidden
        ones left out, sorted by name; [] if absent."""
        fs, path = self._path(uri)
        if not fs.exists(path):
            return []
        entries = [
            (s.getPath().getName(), int(s.getLen()), bool(s.isDirectory()))
            for s in fs.listStatus(path)
        ]
        return sorted(e for e in entries if not e[0].startswith((".", "_")))

    def read_range(self, uri: str, offset: int, length: int) -> bytes:
        """`length` bytes of a file from `offset` (for footers: no whole-file reads)."""
        fs, path = self._path(uri)
        stream = fs.open(path)
        try:
            stream.seek(offset)
            data = self._jvm.org.apache.commons.io.IOUtils.toByteArray(stream, length)
        finally:
            stream.close()
        return bytes(data)

    def read_text(self, uri: str) -> str:
        fs, path = self._path(uri)
        stream = fs.open(path)
        try:
            data = self._jvm.org.apache.commons.io.IOUtils.toByteArray(stream)
        finally:
            stream.close()
        return bytes(data).decode("utf-8")

    def read_pointer(self, uri: str) -> str | None:
        return self.read_text(uri).strip() or None if self.exists(uri) else None

    def rename(self, src: str, dst: str, overwrite: bool = False) -> None:
        """Rename through FileContext, which (unlike FileSystem.rename) can replace `dst`
        atomically on HDFS and the local filesystem."""
        jvm = self._jvm
        src_path = jvm.org.apache.hadoop.fs.Path(src)
        dst_path = jvm.org.apache.hadoop.fs.Path(dst)
        fc = jvm.org.apache.hadoop.fs.FileContext.getFileContext(src_path.toUri(), self._conf)
        rename_option = jvm.org.apache.hadoop.fs.Options.Rename
        options = self._gateway.new_array(rename_option, 1)  # Java varargs need an array
        options[0] = rename_option.OVERWRITE if overwrite else rename_option.NONE
        fc.rename(src_path, dst_path, options)

    def write_text(self, uri: str, text: str) -> None:
        """Write a small file atomically: a hidden temporary sibling, renamed over `uri`."""
        parent, name = uri.rstrip("/").rsplit("/", 1)
        tmp = f"{parent}/.{name}.tmp-{uuid.uuid4().hex[:8]}"
        fs, path = self._path(tmp)
        fs.mkdirs(path.getParent())
        out = fs.create(path, True)
        try:
            out.write(bytearray(text.encode("utf-8")))
        finally:
            out.close()
        self.rename(tmp, uri, overwrite=True)

    def clean_stale(self, parent_uri: str) -> int:
        """Remove temporary siblings a crashed run left under `parent_uri`."""
        fs, path = self._path(parent_uri)
        if not fs.exists(path):
            return 0
        removed = 0
        for status in fs.listStatus(path):
            name = status.getPath().getName()
            if name.startswith(".") and ".tmp-" in name:
                fs.delete(status.getPath(), True)
                removed += 1
        return removed

    @contextlib.contextmanager
    def atomic_dir(self, target_uri: str, overwrite: bool = False) -> Iterator[str]:
        """Yield a temporary sibling URI to write into; on success rename it to `target_uri`.
        On failure the temporary directory is deleted and `target_uri` is untouched."""
        target_uri = target_uri.rstrip("/")
        if self.exists(target_uri) and not overwrite:
            raise FileExistsError(f"{target_uri} already exists")
        parent, name = target_uri.rsplit("/", 1)
        tmp = f"{parent}/.{name}.tmp-{uuid.uuid4().hex[:8]}"
        self.mkdirs(parent)
        try:
            yield tmp
        except BaseException:
            self.delete(tmp)
            raise
        if self.exists(target_uri):
            old = f"{parent}/.{name}.tmp-old-{uuid.uuid4().hex[:8]}"
            self.rename(target_uri, old)
            self.rename(tmp, target_uri)
            self.delete(old)
        else:
            self.rename(tmp, target_uri)
