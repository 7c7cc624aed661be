/*
 * libk8sha — Kubernetes high-availability services (leader election, checkpoint-pointer store,
 * job-graph store) for Flink-style clusters, as a C library.
 * Copyright the libk8sha authors. Licensed under the Apache License, Version 2.0.
 *
 * The umbrella header: include this one. Each module has its own header under k8sha/.
 */
#ifndef K8SHA_H
#define K8SHA_H

#include "k8sha/common.h"
#include "k8sha/version.h"
#include "k8sha/errors.h"
#include "k8sha/config.h"
#include "k8sha/context.h"
#include "k8sha/watch.h"
#include "k8sha/election.h"
#include "k8sha/storage.h"
#include "k8sha/checkpoint.h"
#include "k8sha/jobgraph.h"
#include "k8sha/cleanup.h"

#endif /* K8SHA_H */
