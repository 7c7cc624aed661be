package io.libk8sha;

/**
 * Storage for state blobs under one URI scheme, written in Java (for example over Flink's
 * {@code FileSystem}, so every scheme its plugins serve works). Register it with
 * {@link Context#registerStorage} before opening stores; a scheme other than the built-in ones
 * must also be allowed in the configuration ({@link Config#addStorageScheme}).
 *
 * <p>Each method is called on a thread of the context's storage pool (never the loop thread) and
 * must complete its {@link StorageOp} exactly once, from any thread, now or later. A method that
 * throws fails its operation with {@code K8SHA_ESTORAGE} and the exception's message. Blobs are
 * never overwritten.
 */
public interface StorageBackend {
  /** The URI scheme served: "file", "s3", "hdfs", or one of the host's own. */
  String scheme();

  /**
   * Writes a new blob at {@code uri}: complete with {@link StorageOp#complete()} once it is
   * durable; fail with {@link K8shaException#EEXISTS} if it exists, else a storage error.
   */
  void writeNew(String uri, byte[] data, StorageOp op) throws Exception;

  /** Reads the blob at {@code uri}: {@link StorageOp#complete(byte[])}, or fail with ENOTFOUND. */
  void read(String uri, StorageOp op) throws Exception;

  /** Deletes the blob at {@code uri}; an absent blob is success. */
  void remove(String uri, StorageOp op) throws Exception;

  /** Lists the blobs whose URI starts with {@code prefix}: {@link StorageOp#addEntry} each. */
  void list(String prefix, StorageOp op) throws Exception;
}
