/* Internal: Flink's own pointer format in its Kubernetes HA ConfigMaps: base64 of a
 * Java-serialized state handle (KubernetesStateHandleStore, Flink 1.15 to 2.x):
 *
 *   StateHandleWithDeleteMarker { inner, markedForDeletion }         (1.15+; absent before)
 *     RetrievableStreamStateHandle { wrappedStreamStateHandle }
 *       FileStateHandle | RelativeFileStateHandle { filePath, stateSize }
 *         Path { uri } -> java.net.URI { string }                    e.g.
 * "file:/ha/cid/completedCheckpoint..."
 *
 * Read through the serialization grammar (layout/javaser.h), never by scanning for likely bytes;
 * any other class, a missing field or a field of another type is an error naming it. */
#ifndef K8SHA_LAYOUT_FLINK_HANDLE_H
#define K8SHA_LAYOUT_FLINK_HANDLE_H

#include <stddef.h>
#include <stdint.h>

#include "k8sha/common.h"

#define K8SHA__FLINK_URI_MAX 4096

#define K8SHA__FLINK_MARKER_CLASS                                                                  \
  "org.apache.flink.kubernetes.highavailability.KubernetesStateHandleStore$"                       \
  "StateHandleWithDeleteMarker"
#define K8SHA__FLINK_RETRIEVABLE_CLASS "org.apache.flink.runtime.state.RetrievableStreamStateHandle"
#define K8SHA__FLINK_FILE_HANDLE_CLASS "org.apache.flink.runtime.state.filesystem.FileStateHandle"
#define K8SHA__FLINK_RELATIVE_HANDLE_CLASS \
  "org.apache.flink.runtime.state.filesystem.RelativeFileStateHandle"
#define K8SHA__FLINK_PATH_CLASS "org.apache.flink.core.fs.Path"
#define K8SHA__JAVA_URI_CLASS "java.net.URI"

typedef struct k8sha__flink_handle {
  char uri[K8SHA__FLINK_URI_MAX + 1]; /* the blob, as Flink's Path writes it ("file:/x") */
  uint64_t size;                      /* FileStateHandle.stateSize */
  int marked;                         /* StateHandleWithDeleteMarker.markedForDeletion */
  size_t marker_at; /* offset of that flag's byte in the bytes; (size_t)-1 without a marker */
} k8sha__flink_handle;

/* 1 when the bytes start like a Java serialization stream (0xACED 0x0005). */
int k8sha__flink_handle_looks_java(const unsigned char *b, size_t n);

/* Reads Flink's handle from its decoded (not base64) bytes. 0, K8SHA_ENOMEM, or K8SHA_ECORRUPT
 * with `why` naming what was not understood. */
int k8sha__flink_handle_parse(const k8sha_allocator *a, const unsigned char *b, size_t n,
                              k8sha__flink_handle *out, char *why, size_t why_len);

#endif
