package io.libk8sha.flink;

import io.libk8sha.K8shaException;
import io.libk8sha.StorageBackend;
import io.libk8sha.StorageOp;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import org.apache.flink.core.fs.FSDataOutputStream;
import org.apache.flink.core.fs.FileStatus;
import org.apache.flink.core.fs.FileSystem;
import org.apache.flink.core.fs.Path;

/**
 * libk8sha's blobs through Flink's {@link FileSystem}: whatever scheme Flink's file systems and
 * plugins serve (file, s3, hdfs, gs, ...) serves the HA blobs too, configured as for Flink.
 * Runs on the context's storage threads; every call completes its operation before returning.
 */
public final class FlinkFileSystemBackend implements StorageBackend {
  private final String scheme;

  /** Serves {@code scheme}: the scheme of {@code high-availability.storageDir}. */
  public FlinkFileSystemBackend(String scheme) {
    this.scheme = scheme;
  }

  @Override
  public String scheme() {
    return scheme;
  }

  @Override
  public void writeNew(String uri, byte[] data, StorageOp op) throws IOException {
    Path path = new Path(uri);
    FileSystem fs = path.getFileSystem();
    if (fs.exists(path)) {
      op.fail(K8shaException.EEXISTS, uri + " exists (blobs are never overwritten)");
      return;
    }
    try (FSDataOutputStream out = fs.create(path, FileSystem.WriteMode.NO_OVERWRITE)) {
      out.write(data);
      out.flush();
      out.sync(); // durable before the pointer is written
    }
    op.complete();
  }

  @Override
  public void read(String uri, StorageOp op) throws IOException {
    Path path = new Path(uri);
    byte[] data;
    try (InputStream in = path.getFileSystem().open(path)) {
      data = in.readAllBytes();
    } catch (FileNotFoundException e) {
      op.fail(K8shaException.ENOTFOUND, uri + " does not exist");
      return;
    }
    op.complete(data);
  }

  @Override
  public void remove(String uri, StorageOp op) throws IOException {
    Path path = new Path(uri);
    FileSystem fs = path.getFileSystem();
    if (!fs.delete(path, false) && fs.exists(path)) {
      op.fail(StorageOp.ESTORAGE, uri + " could not be deleted");
      return;
    }
    op.complete();
  }

  /** Lists the folder the prefix names (up to its last '/'), keeping the prefix's own form. */
  @Override
  public void list(String prefix, StorageOp op) throws IOException {
    int slash = prefix.lastIndexOf('/');
    String folder = slash >= 0 ? prefix.substring(0, slash + 1) : prefix;
    Path dir = new Path(folder);
    FileStatus[] entries;
    try {
      entries = dir.getFileSystem().listStatus(dir);
    } catch (FileNotFoundException e) {
      entries = null;
    }
    if (entries != null) {
      for (FileStatus s : entries) {
        String uri = folder + s.getPath().getName();
        if (!s.isDir() && uri.startsWith(prefix)) {
          op.addEntry(uri);
        }
      }
    }
    op.complete();
  }
}
