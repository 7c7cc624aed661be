package io.libk8sha;

/** The kind of lock object an election uses. */
public enum LockKind {
  /** Flink's layout, {@code <cluster-id>-cluster-config-map}: shareable with Flink. */
  CONFIGMAP,
  /** A coordination.k8s.io Lease {@code <cluster-id>-cluster-lease} (needs RBAC on leases). */
  LEASE
}
