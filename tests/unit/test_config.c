/* Flink configuration: loading (flat, nested, overrides), every HA validation rule, and malformed
 * input. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

#define SEED                                   \
  "kubernetes.cluster-id: cluster1337\n"       \
  "high-availability.type: kubernetes\n"       \
  "high-availability.storageDir: s3://flink/recovery\n" \
  "kubernetes.namespace: flink\n"

static k8sha_config *load(const char *yaml) {
  k8sha_config *cfg = NULL;
  ck_assert_int_eq(k8sha_config_new(&cfg, NULL), 0);
  ck_assert_int_eq(k8sha_config_load_string(cfg, "test.yaml", yaml, strlen(yaml)), 0);
  return cfg;
}

/* The seed configuration with one key changed (value NULL: removed), validated. */
static k8sha_config *seed_with(const char *key, const char *value, int expect) {
  k8sha_config *cfg = load(SEED);
  ck_assert_int_eq(k8sha_config_set(cfg, key, value), 0);
  if (k8sha_config_validate(cfg) != expect)
    tu_dump(cfg);
  ck_assert_int_eq(k8sha_config_validate(cfg), expect);
  return cfg;
}

static void expect_rejected(const char *key, const char *value, const char *needle) {
  k8sha_config *cfg = seed_with(key, value, K8SHA_ECONFIG);
  tu_assert_diag(cfg, K8SHA_DIAG_ERROR, key, needle);
  ck_assert_ptr_nonnull(k8sha_config_last_error(cfg));
  ck_assert_ptr_nonnull(strstr(k8sha_config_last_error(cfg), key));
  /* Effective values are not exposed for an invalid configuration. */
  ck_assert_ptr_null(k8sha_config_cluster_id(cfg));
  ck_assert_uint_eq(k8sha_config_lease_duration_ms(cfg), 0);
  k8sha_config_free(cfg);
}

static void expect_accepted(const char *key, const char *value) {
  k8sha_config_free(seed_with(key, value, 0));
}

START_TEST(seed_configuration_is_valid) {
  k8sha_config *cfg = load(SEED);
  ck_assert_int_eq(k8sha_config_validate(cfg), 0);
  ck_assert_str_eq(k8sha_config_cluster_id(cfg), "cluster1337");
  ck_assert_str_eq(k8sha_config_ha_cluster_id(cfg), "cluster1337");
  ck_assert_str_eq(k8sha_config_namespace(cfg), "flink");
  ck_assert_str_eq(k8sha_config_storage_dir(cfg), "s3://flink/recovery");
  ck_assert_uint_eq(k8sha_config_lease_duration_ms(cfg), 15000);
  ck_assert_uint_eq(k8sha_config_renew_deadline_ms(cfg), 15000);
  ck_assert_uint_eq(k8sha_config_retry_period_ms(cfg), 5000);
  ck_assert_uint_eq(k8sha_config_max_retries(cfg), 5);
  ck_assert_uint_eq(k8sha_config_num_retained(cfg), 1);
  ck_assert_uint_eq(tu_count(cfg, K8SHA_DIAG_ERROR), 0);
  k8sha_config_free(cfg);
}
END_TEST

START_TEST(flink_defaults_get_a_shorter_effective_renew_deadline) {
  k8sha_config *cfg = load(SEED);
  ck_assert_int_eq(k8sha_config_validate(cfg), 0);
  /* renew-deadline == lease-duration in Flink: the leader must still step down first. */
  ck_assert_uint_eq(k8sha_config_request_timeout_ms(cfg), 5000);
  ck_assert_uint_eq(k8sha_config_effective_renew_deadline_ms(cfg), 10000);
  ck_assert_uint_lt(k8sha_config_effective_renew_deadline_ms(cfg) +
                        k8sha_config_request_timeout_ms(cfg),
                    k8sha_config_lease_duration_ms(cfg) + 1);
  tu_assert_diag(cfg, K8SHA_DIAG_NOTE, "high-availability.kubernetes.leader-election.renew-deadline",
                 "effective renew deadline is 10 s, not 15 s");
  k8sha_config_free(cfg);
}
END_TEST

START_TEST(client_go_style_timing_keeps_its_renew_deadline) {
  k8sha_config *cfg = load(SEED "high-availability.kubernetes.leader-election.lease-duration: 2 s\n"
                                "high-availability.kubernetes.leader-election.renew-deadline: 1500 ms\n"
                                "high-availability.kubernetes.leader-election.retry-period: 500ms\n");
  ck_assert_int_eq(k8sha_config_validate(cfg), 0);
  ck_assert_uint_eq(k8sha_config_lease_duration_ms(cfg), 2000);
  ck_assert_uint_eq(k8sha_config_effective_renew_deadline_ms(cfg), 1500);
  ck_assert_uint_eq(k8sha_config_request_timeout_ms(cfg), 500);
  ck_assert_uint_eq(k8sha_config_retry_period_ms(cfg), 500);
  ck_assert_int_eq(tu_has_diag(cfg, K8SHA_DIAG_NOTE, NULL, "renew deadline"), 0);
  k8sha_config_free(cfg);
}
END_TEST

/* The s3 backend's settings: Flink's spellings, the environment, and what is wrong named. */
/* The hdfs backend's settings: Hadoop's files through HADOOP_CONF_DIR, flink.hadoop.* keys over
 * them, an HA nameservice, the default file system, the user, and each wrong value named. */
static k8sha_config *hdfs_cfg(const char *dir, const char *extra) {
  char yaml[2048];
  k8sha_config *cfg;
  snprintf(yaml, sizeof(yaml),
           "kubernetes.cluster-id: c1\nhigh-availability.type: kubernetes\n"
           "kubernetes.namespace: flink\nhigh-availability.storageDir: %s\n%s",
           dir, extra ? extra : "");
  cfg = load(yaml);
  return cfg;
}

/* A Hadoop configuration folder with these two files (NULL: absent). */
static void hadoop_dir(const char *core, const char *hdfs) {
  char path[1024];
  snprintf(path, sizeof(path), "%s/hadoop-conf", tu_tmpdir());
  ck_assert_int_eq(mkdir(path, 0700) == 0 || errno == EEXIST, 1);
  snprintf(path, sizeof(path), "%s/hadoop-conf/core-site.xml", tu_tmpdir());
  unlink(path);
  if (core)
    tu_write("hadoop-conf/core-site.xml", core);
  snprintf(path, sizeof(path), "%s/hadoop-conf/hdfs-site.xml", tu_tmpdir());
  unlink(path);
  if (hdfs)
    tu_write("hadoop-conf/hdfs-site.xml", hdfs);
  snprintf(path, sizeof(path), "%s/hadoop-conf", tu_tmpdir());
  setenv("HADOOP_CONF_DIR", path, 1);
}

#define PROP(n, v) "<property><name>" n "</name><value>" v "</value></property>\n"

START_TEST(hdfs_settings_rules) {
  k8sha_config *cfg;
  unsetenv("HADOOP_HOME");
  unsetenv("HADOOP_CONF_DIR");
  setenv("HADOOP_USER_NAME", "flink", 1);

  /* One namenode, nothing configured: its host at Hadoop's HTTP port, user from the env. */
  cfg = hdfs_cfg("hdfs://nn.example:8020/flink/ha", NULL);
  ck_assert_int_eq(k8sha_config_validate(cfg), 0);
  tu_assert_diag(cfg, K8SHA_DIAG_NOTE, "high-availability.storageDir",
                 "namenode nn.example:8020 WebHDFS at http://nn.example:9870 (from the "
                 "namenode's host at Hadoop's default http port");
  tu_assert_diag(cfg, K8SHA_DIAG_NOTE, "high-availability.storageDir",
                 "simple authentication as flink (HADOOP_USER_NAME)");
  k8sha_config_free(cfg);

  /* flink.hadoop.* keys: an address on every interface takes the namenode's host; HTTPS_ONLY. */
  cfg = hdfs_cfg("hdfs://nn.example:8020/flink/ha",
                 "flink.hadoop.dfs.namenode.http-address: 0.0.0.0:50070\n");
  ck_assert_int_eq(k8sha_config_validate(cfg), 0);
  tu_assert_diag(cfg, K8SHA_DIAG_NOTE, "high-availability.storageDir",
                 "WebHDFS at http://nn.example:50070 (from dfs.namenode.http-address (the "
                 "configuration key flink.hadoop.dfs.namenode.http-address))");
  k8sha_config_free(cfg);
  cfg = hdfs_cfg("hdfs://nn.example/flink/ha", "flink.hadoop.dfs.http.policy: HTTPS_ONLY\n");
  ck_assert_int_eq(k8sha_config_validate(cfg), 0);
  tu_assert_diag(cfg, K8SHA_DIAG_NOTE, "high-availability.storageDir",
                 "WebHDFS at https://nn.example:9871");
  k8sha_config_free(cfg);

  /* HADOOP_CONF_DIR with an HA nameservice as the default file system; a reference expanded;
   * a flink.hadoop key replaces the file's value. */
  hadoop_dir("<?xml version=\"1.0\"?>\n<configuration>\n" PROP("fs.defaultFS", "hdfs://ns1")
             "</configuration>\n",
             "<configuration>\n" PROP("dfs.nameservices", "ns1")
             PROP("dfs.ha.namenodes.ns1", "nn1, nn2") PROP("nn.host", "10.0.0.1")
             PROP("dfs.namenode.http-address.ns1.nn1", "${nn.host}:9870")
             "<property name=\"dfs.namenode.http-address.ns1.nn2\" value=\"10.0.0.2:9870\"/>\n"
             "</configuration>\n");
  cfg = hdfs_cfg("hdfs:///flink/ha",
                 "flink.hadoop.dfs.namenode.http-address.ns1.nn2: 10.0.0.3:9870\n");
  ck_assert_int_eq(k8sha_config_validate(cfg), 0);
  tu_assert_diag(cfg, K8SHA_DIAG_NOTE, "high-availability.storageDir",
                 "nameservice ns1, namenode nn1 WebHDFS at http://10.0.0.1:9870 (from "
                 "dfs.namenode.http-address.ns1.nn1 (");
  tu_assert_diag(cfg, K8SHA_DIAG_NOTE, "high-availability.storageDir",
                 "namenode nn2 WebHDFS at http://10.0.0.3:9870 (from "
                 "dfs.namenode.http-address.ns1.nn2 (the configuration key flink.hadoop.");
  tu_assert_diag(cfg, K8SHA_DIAG_NOTE, "high-availability.storageDir", "hdfs-site.xml");
  k8sha_config_free(cfg);

  /* A nameservice's namenode without an address is named. */
  hadoop_dir(NULL, "<configuration>" PROP("dfs.ha.namenodes.ns1", "nn1,nn2")
                   PROP("dfs.namenode.http-address.ns1.nn1", "10.0.0.1:9870")
                   "</configuration>");
  cfg = hdfs_cfg("hdfs://ns1/flink/ha", NULL);
  ck_assert_int_eq(k8sha_config_validate(cfg), K8SHA_ECONFIG);
  tu_assert_diag(cfg, K8SHA_DIAG_ERROR, "high-availability.storageDir",
                 "the nameservice ns1's namenode nn2 has no dfs.namenode.http-address.ns1.nn2");
  k8sha_config_free(cfg);

  /* hdfs:/// without fs.defaultFS; fs.defaultFS that is not hdfs. */
  hadoop_dir(NULL, NULL);
  cfg = hdfs_cfg("hdfs:///flink/ha", NULL);
  ck_assert_int_eq(k8sha_config_validate(cfg), K8SHA_ECONFIG);
  tu_assert_diag(cfg, K8SHA_DIAG_ERROR, "high-availability.storageDir",
                 "names the default file system, but fs.defaultFS is not set");
  k8sha_config_free(cfg);
  cfg = hdfs_cfg("hdfs:///flink/ha", "flink.hadoop.fs.defaultFS: file:///\n");
  ck_assert_int_eq(k8sha_config_validate(cfg), K8SHA_ECONFIG);
  tu_assert_diag(cfg, K8SHA_DIAG_ERROR, "high-availability.storageDir",
                 "is 'file:///', not hdfs://namenode");
  k8sha_config_free(cfg);

  /* A file that is not Hadoop's XML: its name, line and what is wrong. */
  hadoop_dir("<configuration>\n<property><name>a</name>\n<value>1</value><name>b</name>"
             "</property></configuration>", NULL);
  cfg = hdfs_cfg("hdfs://nn:8020/ha", NULL);
  ck_assert_int_eq(k8sha_config_validate(cfg), K8SHA_ECONFIG);
  tu_assert_diag(cfg, K8SHA_DIAG_ERROR, "high-availability.storageDir",
                 "core-site.xml line 3: a <property> with two names");
  k8sha_config_free(cfg);
  hadoop_dir("<!DOCTYPE c [<!ENTITY x \"y\">]><configuration/>", NULL);
  cfg = hdfs_cfg("hdfs://nn:8020/ha", NULL);
  ck_assert_int_eq(k8sha_config_validate(cfg), K8SHA_ECONFIG);
  tu_assert_diag(cfg, K8SHA_DIAG_ERROR, "high-availability.storageDir", "a DOCTYPE");
  k8sha_config_free(cfg);
  hadoop_dir("<configuration><xi:include href=\"more.xml\"/></configuration>", NULL);
  cfg = hdfs_cfg("hdfs://nn:8020/ha", NULL);
  ck_assert_int_eq(k8sha_config_validate(cfg), K8SHA_ECONFIG);
  tu_assert_diag(cfg, K8SHA_DIAG_ERROR, "high-availability.storageDir",
                 "<xi:include> is not followed");
  k8sha_config_free(cfg);

  /* Wrong values; Kerberos. */
  hadoop_dir(NULL, NULL);
  cfg = hdfs_cfg("hdfs://nn:8020/ha", "flink.hadoop.dfs.namenode.http-address: nn\n");
  ck_assert_int_eq(k8sha_config_validate(cfg), K8SHA_ECONFIG);
  tu_assert_diag(cfg, K8SHA_DIAG_ERROR, "high-availability.storageDir",
                 "'nn' is not an address of the form host:port");
  k8sha_config_free(cfg);
  cfg = hdfs_cfg("hdfs://nn:8020/ha", "flink.hadoop.hadoop.security.authentication: token\n");
  ck_assert_int_eq(k8sha_config_validate(cfg), K8SHA_ECONFIG);
  tu_assert_diag(cfg, K8SHA_DIAG_ERROR, "high-availability.storageDir",
                 "'token' is not simple or kerberos");
  k8sha_config_free(cfg);
  cfg = hdfs_cfg("hdfs://nn:8020/ha", "flink.hadoop.hadoop.security.authentication: kerberos\n");
  ck_assert_int_eq(k8sha_config_validate(cfg), 0);
  tu_assert_diag(cfg, K8SHA_DIAG_NOTE, "high-availability.storageDir", "Kerberos (SPNEGO");
  k8sha_config_free(cfg);
  unsetenv("HADOOP_CONF_DIR");
  unsetenv("HADOOP_USER_NAME");
}
END_TEST

START_TEST(s3_settings_rules) {
  k8sha_config *cfg;
  unsetenv("AWS_ACCESS_KEY_ID");
  unsetenv("AWS_SECRET_ACCESS_KEY");
  unsetenv("AWS_SESSION_TOKEN");
  unsetenv("AWS_REGION");
  unsetenv("AWS_DEFAULT_REGION");
  unsetenv("AWS_ROLE_ARN");
  unsetenv("AWS_WEB_IDENTITY_TOKEN_FILE");
  unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
  unsetenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
  unsetenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
  /* nothing set: IMDSv2 is the last source, as on an EC2 node */
  cfg = load(SEED);
  ck_assert_int_eq(k8sha_config_validate(cfg), 0);
  tu_assert_diag(cfg, K8SHA_DIAG_NOTE, "high-availability.storageDir",
                 "credentials from IMDSv2 at http://169.254.169.254");
  k8sha_config_free(cfg);
  setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
  cfg = load(SEED);
  ck_assert_int_eq(k8sha_config_validate(cfg), 0);
  tu_assert_diag(cfg, K8SHA_DIAG_WARNING, "high-availability.storageDir", "no credentials");
  tu_assert_diag(cfg, K8SHA_DIAG_NOTE, "high-availability.storageDir",
                 "endpoint AWS's, region us-east-1, virtual-hosted addressing");
  k8sha_config_free(cfg);

  cfg = load(SEED "fs.s3a.access.key: AKID\nfs.s3a.secret.key: s3cr3t-value\n"
                  "s3.endpoint: http://127.0.0.1:9000/\ns3.path-style-access: 'true'\n"
                  "s3.region: eu-west-3\n");
  ck_assert_int_eq(k8sha_config_validate(cfg), 0);
  tu_assert_diag(cfg, K8SHA_DIAG_NOTE, "high-availability.storageDir",
                 "credentials from the configuration (fs.s3a.access.key, fs.s3a.secret.key)");
  tu_assert_diag(cfg, K8SHA_DIAG_NOTE, "high-availability.storageDir",
                 "endpoint http://127.0.0.1:9000 from s3.endpoint, region eu-west-3, path-style");
  {
    size_t i;
    for (i = 0; i < k8sha_config_diag_count(cfg); i++) /* never the secret */
      ck_assert_ptr_null(strstr(k8sha_config_diag_at(cfg, i)->message, "s3cr3t"));
  }
  k8sha_config_free(cfg);

  cfg = load(SEED "s3.access-key: A\ns3.secret-key: B\ns3a.secret-key: C\n");
  ck_assert_int_eq(k8sha_config_validate(cfg), 0);
  tu_assert_diag(cfg, K8SHA_DIAG_WARNING, NULL, "s3.secret-key and s3a.secret-key differ");
  k8sha_config_free(cfg);

  unsetenv("AWS_EC2_METADATA_DISABLED");
  /* a pod's sources, named without contacting them */
  setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/flink", 1);
  cfg = load(SEED);
  ck_assert_int_eq(k8sha_config_validate(cfg), K8SHA_ECONFIG);
  tu_assert_diag(cfg, K8SHA_DIAG_ERROR, NULL,
                 "AWS_ROLE_ARN is set in the environment but AWS_WEB_IDENTITY_TOKEN_FILE is not");
  k8sha_config_free(cfg);
  setenv("AWS_WEB_IDENTITY_TOKEN_FILE", "/var/run/secrets/eks.amazonaws.com/serviceaccount/token",
         1);
  setenv("AWS_REGION", "eu-central-1", 1);
  cfg = load(SEED);
  ck_assert_int_eq(k8sha_config_validate(cfg), 0);
  tu_assert_diag(cfg, K8SHA_DIAG_NOTE, NULL,
                 "web identity (AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE /var/run/secrets/eks."
                 "amazonaws.com/serviceaccount/token) through STS at "
                 "https://sts.eu-central-1.amazonaws.com");
  k8sha_config_free(cfg);
  unsetenv("AWS_ROLE_ARN");
  unsetenv("AWS_WEB_IDENTITY_TOKEN_FILE");
  unsetenv("AWS_REGION");
  setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://169.254.170.23/v1/credentials", 1);
  cfg = load(SEED);
  ck_assert_int_eq(k8sha_config_validate(cfg), 0);
  tu_assert_diag(cfg, K8SHA_DIAG_NOTE, NULL,
                 "the container credentials endpoint http://169.254.170.23/v1/credentials");
  k8sha_config_free(cfg);
  unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");

  setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
  setenv("AWS_SECRET_ACCESS_KEY", "secret-from-env", 1);
  setenv("AWS_SESSION_TOKEN", "token", 1);
  setenv("AWS_REGION", "ap-south-1", 1);
  cfg = load(SEED);
  ck_assert_int_eq(k8sha_config_validate(cfg), 0);
  tu_assert_diag(cfg, K8SHA_DIAG_NOTE, NULL,
                 "the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN)");
  tu_assert_diag(cfg, K8SHA_DIAG_NOTE, NULL, "region ap-south-1");
  k8sha_config_free(cfg);
  unsetenv("AWS_SECRET_ACCESS_KEY");
  cfg = load(SEED);
  ck_assert_int_eq(k8sha_config_validate(cfg), K8SHA_ECONFIG);
  tu_assert_diag(cfg, K8SHA_DIAG_ERROR, NULL,
                 "AWS_ACCESS_KEY_ID is set in the environment but AWS_SECRET_ACCESS_KEY is not");
  k8sha_config_free(cfg);
  unsetenv("AWS_ACCESS_KEY_ID");
  unsetenv("AWS_SESSION_TOKEN");
  unsetenv("AWS_REGION");

  cfg = load(SEED "s3.access-key: A\n");
  ck_assert_int_eq(k8sha_config_validate(cfg), K8SHA_ECONFIG);
  tu_assert_diag(cfg, K8SHA_DIAG_ERROR, NULL, "s3.access-key is set but no s3.secret-key key is");
  k8sha_config_free(cfg);
  cfg = load(SEED "s3.endpoint: http://host:9000/path\n");
  ck_assert_int_eq(k8sha_config_validate(cfg), K8SHA_ECONFIG);
  tu_assert_diag(cfg, K8SHA_DIAG_ERROR, NULL, "s3.endpoint: 'http://host:9000/path' is not an");
  k8sha_config_free(cfg);
  cfg = load(SEED "s3.path.style.access: yes\n");
  ck_assert_int_eq(k8sha_config_validate(cfg), K8SHA_ECONFIG);
  tu_assert_diag(cfg, K8SHA_DIAG_ERROR, NULL, "s3.path.style.access: 'yes' is not true or false");
  k8sha_config_free(cfg);
  cfg = load(SEED "s3.region: EU West\n");
  ck_assert_int_eq(k8sha_config_validate(cfg), K8SHA_ECONFIG);
  tu_assert_diag(cfg, K8SHA_DIAG_ERROR, NULL, "s3.region: 'EU West' is not a region name");
  k8sha_config_free(cfg);
  cfg = load(SEED "libk8sha.s3.list-page-size: 0\n");
  ck_assert_int_eq(k8sha_config_validate(cfg), K8SHA_ECONFIG);
  tu_assert_diag(cfg, K8SHA_DIAG_ERROR, NULL, "libk8sha.s3.list-page-size: '0' is not a number");
  k8sha_config_free(cfg);
}
END_TEST

START_TEST(nested_and_flat_forms_are_equivalent) {
  k8sha_config *cfg = load("kubernetes:\n"
                           "  cluster-id: cluster1337\n"
                           "  namespace: flink\n"
                           "high-availability:\n"
                           "  type: KUBERNETES\n"
                           "  storageDir: s3://flink/recovery\n"
                           "  kubernetes.leader-election:\n"
                           "    lease-duration: 1 min\n"
                           "execution.checkpointing:\n"
                           "  num-retained: 3\n");
  const char *v;
  ck_assert_int_eq(k8sha_config_validate(cfg), 0);
  ck_assert_str_eq(k8sha_config_cluster_id(cfg), "cluster1337");
  ck_assert_str_eq(k8sha_config_namespace(cfg), "flink");
  ck_assert_uint_eq(k8sha_config_lease_duration_ms(cfg), 60000);
  ck_assert_uint_eq(k8sha_config_num_retained(cfg), 3);
  ck_assert_int_eq(k8sha_config_get(cfg, "high-availability.kubernetes.leader-election.lease-duration", &v), 0);
  ck_assert_str_eq(v, "1 min");
  k8sha_config_free(cfg);
}
END_TEST

START_TEST(overrides_and_later_files_win) {
  k8sha_config *cfg = load(SEED);
  const char *v;
  const char *second = "kubernetes.namespace: other\n";
  ck_assert_int_eq(k8sha_config_load_string(cfg, "second.yaml", second, strlen(second)), 0);
  ck_assert_int_eq(k8sha_config_get(cfg, "kubernetes.namespace", &v), 0);
  ck_assert_str_eq(v, "other");
  ck_assert_int_eq(k8sha_config_set(cfg, "kubernetes.namespace", "third"), 0);
  ck_assert_int_eq(k8sha_config_validate(cfg), 0);
  ck_assert_str_eq(k8sha_config_namespace(cfg), "third");
  /* Removing the key falls back to Flink's default namespace. */
  ck_assert_int_eq(k8sha_config_set(cfg, "kubernetes.namespace", NULL), 0);
  ck_assert_int_eq(k8sha_config_get(cfg, "kubernetes.namespace", &v), K8SHA_ENOTFOUND);
  ck_assert_int_eq(k8sha_config_validate(cfg), 0);
  ck_assert_str_eq(k8sha_config_namespace(cfg), "default");
  k8sha_config_free(cfg);
}
END_TEST

START_TEST(a_change_invalidates_effective_values) {
  k8sha_config *cfg = load(SEED);
  ck_assert_int_eq(k8sha_config_validate(cfg), 0);
  ck_assert_ptr_nonnull(k8sha_config_cluster_id(cfg));
  ck_assert_int_eq(k8sha_config_set(cfg, "kubernetes.cluster-id", "other"), 0);
  ck_assert_ptr_null(k8sha_config_cluster_id(cfg));
  ck_assert_int_eq(k8sha_config_validate(cfg), 0);
  ck_assert_str_eq(k8sha_config_cluster_id(cfg), "other");
  k8sha_config_free(cfg);
}
END_TEST

START_TEST(repeated_key_warns_and_takes_the_last) {
  k8sha_config *cfg = load(SEED "kubernetes.namespace: again\n");
  const char *v;
  ck_assert_int_eq(k8sha_config_get(cfg, "kubernetes.namespace", &v), 0);
  ck_assert_str_eq(v, "again");
  tu_assert_diag(cfg, K8SHA_DIAG_WARNING, "kubernetes.namespace", "test.yaml:5:");
  tu_assert_diag(cfg, K8SHA_DIAG_WARNING, "kubernetes.namespace", "first at line 4");
  k8sha_config_free(cfg);
}
END_TEST

START_TEST(lists_become_semicolon_separated) {
  k8sha_config *cfg = load("env.java.opts.all: [-Xmx1g, -Dx=y]\n");
  const char *v;
  ck_assert_int_eq(k8sha_config_get(cfg, "env.java.opts.all", &v), 0);
  ck_assert_str_eq(v, "-Xmx1g;-Dx=y");
  k8sha_config_free(cfg);
}
END_TEST

START_TEST(diagnostics_name_file_line_and_key) {
  k8sha_config *cfg = load("high-availability.type: kubernetes\n"
                           "high-availability.storageDir: s3://flink/recovery\n"
                           "kubernetes.cluster-id: -bad\n");
  const k8sha_diag *d;
  ck_assert_int_eq(k8sha_config_validate(cfg), K8SHA_ECONFIG);
  ck_assert_uint_eq(tu_count(cfg, K8SHA_DIAG_ERROR), 1);
  d = k8sha_config_diag_at(cfg, 0);
  ck_assert_ptr_nonnull(d);
  ck_assert_str_eq(d->file, "test.yaml");
  ck_assert_uint_eq(d->line, 3);
  ck_assert_str_eq(d->key, "kubernetes.cluster-id");
  ck_assert_str_eq(d->text,
                   "test.yaml:3: kubernetes.cluster-id: '-bad' must start with a letter or a digit");
  ck_assert_str_eq(k8sha_config_last_error(cfg), d->text);
  ck_assert_ptr_null(k8sha_config_diag_at(cfg, k8sha_config_diag_count(cfg)));
  k8sha_config_free(cfg);
}
END_TEST

START_TEST(every_problem_is_reported_at_once) {
  k8sha_config *cfg = load("kubernetes.namespace: Not_A_Label\n"
                           "high-availability.kubernetes.leader-election.lease-duration: soon\n"
                           "execution.checkpointing.num-retained: 0\n");
  ck_assert_int_eq(k8sha_config_validate(cfg), K8SHA_ECONFIG);
  tu_assert_diag(cfg, K8SHA_DIAG_ERROR, "high-availability.type", "missing");
  tu_assert_diag(cfg, K8SHA_DIAG_ERROR, "kubernetes.cluster-id", "missing (required)");
  tu_assert_diag(cfg, K8SHA_DIAG_ERROR, "high-availability.storageDir", "missing (required)");
  tu_assert_diag(cfg, K8SHA_DIAG_ERROR, "kubernetes.namespace", "test.yaml:1:");
  tu_assert_diag(cfg, K8SHA_DIAG_ERROR,
                 "high-availability.kubernetes.leader-election.lease-duration",
                 "does not start with a number");
  tu_assert_diag(cfg, K8SHA_DIAG_ERROR, "execution.checkpointing.num-retained", "at least 1");
  ck_assert_uint_eq(tu_count(cfg, K8SHA_DIAG_ERROR), 6);
  /* Validating again replaces, not accumulates, the findings. */
  ck_assert_int_eq(k8sha_config_validate(cfg), K8SHA_ECONFIG);
  ck_assert_uint_eq(tu_count(cfg, K8SHA_DIAG_ERROR), 6);
  k8sha_config_free(cfg);
}
END_TEST

START_TEST(ha_type_rules) {
  k8sha_config *cfg;
  expect_accepted("high-availability.type", "Kubernetes");
  expect_accepted("high-availability.type",
                  "org.apache.flink.kubernetes.highavailability.KubernetesHaServicesFactory");
  expect_rejected("high-availability.type", "zookeeper", "is not Kubernetes high availability");
  expect_rejected("high-availability.type", "NONE", "'NONE'");
  /* The legacy key alone is enough. */
  cfg = seed_with("high-availability.type", NULL, K8SHA_ECONFIG);
  tu_assert_diag(cfg, K8SHA_DIAG_ERROR, "high-availability.type", "missing");
  ck_assert_int_eq(k8sha_config_set(cfg, "high-availability", "kubernetes"), 0);
  ck_assert_int_eq(k8sha_config_validate(cfg), 0);
  /* Both: the new key wins and the legacy one is called ignored. */
  ck_assert_int_eq(k8sha_config_set(cfg, "high-availability", "zookeeper"), 0);
  ck_assert_int_eq(k8sha_config_set(cfg, "high-availability.type", "kubernetes"), 0);
  ck_assert_int_eq(k8sha_config_validate(cfg), 0);
  tu_assert_diag(cfg, K8SHA_DIAG_WARNING, "high-availability", "ignored");
  k8sha_config_free(cfg);
}
END_TEST

START_TEST(cluster_id_rules) {
  const char *key = "kubernetes.cluster-id";
  expect_accepted(key, "a");
  expect_accepted(key, "flink-cluster.prod-1");
  expect_accepted(key, "123456789012345678901234567890123456789012345"); /* 45 */
  expect_rejected(key, "1234567890123456789012345678901234567890123456", "at most 45");
  expect_rejected(key, NULL, "missing (required)");
  expect_rejected(key, "  ", "empty (required)");
  expect_rejected(key, "my cluster", "contains ' '");
  expect_rejected(key, "a/b", "contains '/'");
  expect_rejected(key, "_abc", "must start with a letter or a digit");
  expect_rejected(key, ".abc", "must start with a letter or a digit");
  /* Allowed by Flink's character rule, refused by Kubernetes as object names. */
  expect_rejected(key, "My_Cluster", "'My_Cluster-cluster-config-map', which is not a valid");
  expect_rejected(key, "UPPER", "not a valid Kubernetes name");
  expect_rejected(key, "a..b", "not a valid Kubernetes name");
  expect_rejected(key, "abc.", "not a valid Kubernetes name");
  expect_rejected(key, "abc_", "not a valid Kubernetes name");
}
END_TEST

START_TEST(ha_cluster_id_rules) {
  k8sha_config *cfg = seed_with("high-availability.cluster-id", "/flink-ha", 0);
  ck_assert_str_eq(k8sha_config_ha_cluster_id(cfg), "flink-ha");
  k8sha_config_free(cfg);
  expect_rejected("high-availability.cluster-id", "a/b", "one folder name");
  expect_rejected("high-availability.cluster-id", "..", "not usable as a folder name");
  expect_rejected("high-availability.cluster-id", "/", "not usable as a folder name");
}
END_TEST

START_TEST(namespace_rules) {
  k8sha_config *cfg = seed_with("kubernetes.namespace", NULL, 0);
  ck_assert_str_eq(k8sha_config_namespace(cfg), "default");
  k8sha_config_free(cfg);
  expect_rejected("kubernetes.namespace", "Flink", "not a valid namespace");
  expect_rejected("kubernetes.namespace", "a.b", "not a valid namespace");
  expect_rejected("kubernetes.namespace",
                  "a234567890123456789012345678901234567890123456789012345678901234",
                  "not a valid namespace");
}
END_TEST

static void expect_storage(const char *in, const char *out) {
  k8sha_config *cfg = seed_with("high-availability.storageDir", in, 0);
  ck_assert_str_eq(k8sha_config_storage_dir(cfg), out);
  k8sha_config_free(cfg);
}

START_TEST(storage_dir_rules) {
  const char *key = "high-availability.storageDir";
  k8sha_config *cfg;
  expect_storage("s3://flink/recovery/", "s3://flink/recovery");
  expect_storage("S3://flink/recovery", "s3://flink/recovery");
  expect_storage("s3a://bucket", "s3a://bucket");
  expect_storage("/var/flink/ha", "file:///var/flink/ha");
  expect_storage("file:/var/flink/ha", "file:///var/flink/ha");
  expect_storage("file:///var/flink/ha/", "file:///var/flink/ha");
  expect_storage("file://localhost/var/ha", "file:///var/ha");
  expect_storage("hdfs://namenode:8020/flink/ha", "hdfs://namenode:8020/flink/ha");
  setenv("HADOOP_USER_NAME", "flink", 1);
  cfg = load(SEED "flink.hadoop.fs.defaultFS: hdfs://namenode:8020\n"); /* (hdfs:///'s) */
  ck_assert_int_eq(k8sha_config_set(cfg, key, "hdfs:///flink/ha"), 0);
  ck_assert_int_eq(k8sha_config_validate(cfg), 0);
  ck_assert_str_eq(k8sha_config_storage_dir(cfg), "hdfs:///flink/ha");
  k8sha_config_free(cfg);
  unsetenv("HADOOP_USER_NAME");
  expect_rejected(key, NULL, "missing (required)");
  expect_rejected(key, "", "empty (required)");
  expect_rejected(key, "gs://bucket/ha", "unknown scheme 'gs'");
  expect_rejected(key, "relative/dir", "no scheme and is not an absolute path");
  expect_rejected(key, "s3:///path", "must have the form s3://bucket/path");
  expect_rejected(key, "s3:bucket", "must have the form s3://bucket/path");
  expect_rejected(key, "s3://My_Bucket/ha", "'My_Bucket' is not an S3 bucket name");
  expect_rejected(key, "s3a://ab/ha", "'ab' is not an S3 bucket name");
  expect_rejected(key, "file://server/share", "names a remote host");
  expect_rejected(key, "file:relative", "is not an absolute path");
  /* every add under these would fail: refused here, naming the key */
  expect_rejected(key, "file:///var/ha//", "empty, '.' or '..' path segment");
  expect_rejected(key, "/var//ha", "empty, '.' or '..' path segment");
  expect_rejected(key, "s3://bucket/ha/./x", "empty, '.' or '..' path segment");
  expect_rejected(key, "hdfs://nn/ha/..", "empty, '.' or '..' path segment");
  expect_rejected(key, "file:///var/h\001a", "control character");
  {
    /* blob URIs longer than a pointer holds: refused before the first checkpoint, not truncated */
    char longdir[4200];
    memcpy(longdir, "s3://bucket/", 12);
    memset(longdir + 12, 'd', 4060);
    longdir[4072] = '\0';
    expect_rejected(key, longdir, "more than the 4096 a pointer holds");
    longdir[3900] = '\0';
    expect_storage(longdir, longdir);
  }
  /* A host that registers its own backend makes its scheme valid. */
  cfg = seed_with(key, "mystore://vault/ha", K8SHA_ECONFIG);
  ck_assert_int_eq(k8sha_config_add_storage_scheme(cfg, "MyStore"), 0);
  ck_assert_int_eq(k8sha_config_validate(cfg), 0);
  ck_assert_str_eq(k8sha_config_storage_dir(cfg), "mystore://vault/ha");
  ck_assert_int_eq(k8sha_config_add_storage_scheme(cfg, "1bad"), K8SHA_EINVAL);
  ck_assert_int_eq(k8sha_config_add_storage_scheme(cfg, "ba d"), K8SHA_EINVAL);
  k8sha_config_free(cfg);
}
END_TEST

#define LE "high-availability.kubernetes.leader-election."

START_TEST(duration_syntax) {
  static const struct {
    const char *text;
    uint64_t ms;
  } ok[] = {{"15 s", 15000},      {"15000 ms", 15000}, {"15000", 15000},   {"1 min", 60000},
            {"1min", 60000},      {"2 m", 120000},     {"1 h", 3600000},   {"15 S", 15000},
            {"15 seconds", 15000}, {"15 secs", 15000}, {" 20s ", 20000},   {"20000000 us", 20000},
            {"20000000000 ns", 20000}, {"1 d", 86400000}};
  size_t i;
  for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
    k8sha_config *cfg = seed_with(LE "lease-duration", ok[i].text, 0);
    ck_assert_msg(k8sha_config_lease_duration_ms(cfg) == ok[i].ms, "'%s' gave %llu", ok[i].text,
                  (unsigned long long)k8sha_config_lease_duration_ms(cfg));
    k8sha_config_free(cfg);
  }
  expect_rejected(LE "lease-duration", "PT15S", "ISO-8601 durations are not supported");
  expect_rejected(LE "lease-duration", "1.5 s", "fractions are not supported");
  expect_rejected(LE "lease-duration", "soon", "does not start with a number");
  expect_rejected(LE "lease-duration", "-5 s", "negative");
  expect_rejected(LE "lease-duration", "15 parsecs", "unknown unit");
  expect_rejected(LE "lease-duration", "99999999999999999999 s", "number too large");
  expect_rejected(LE "lease-duration", "99999999999999999 d", "number too large");
  expect_rejected(LE "lease-duration", "0 s", "at least 1 ms");
  expect_rejected(LE "lease-duration", "500 us", "at least 1 ms");
  expect_rejected(LE "lease-duration", "", "is not a duration: empty");
  expect_rejected(LE "renew-deadline", "15 x", "is not a duration");
  expect_rejected(LE "retry-period", "5 sec ond", "unknown unit");
}
END_TEST

START_TEST(timing_rules) {
  k8sha_config *cfg;
  expect_rejected(LE "renew-deadline", "20 s", "20 s is longer than lease-duration (15 s)");
  expect_rejected(LE "retry-period", "15 s", "must be shorter than renew-deadline (15 s)");
  expect_rejected(LE "retry-period", "20 s", "must be shorter than renew-deadline");
  /* Shorter than renew-deadline, but not than the effective one (15 s - 5 s). */
  expect_rejected(LE "retry-period", "12 s", "must be shorter than the effective renew deadline (10 s");
  cfg = seed_with(LE "renew-deadline", "10 s", 0);
  /* timeout 3333 ms; lease - timeout = 11667 ms > 10 s, so 10 s stands. */
  ck_assert_uint_eq(k8sha_config_request_timeout_ms(cfg), 3333);
  ck_assert_uint_eq(k8sha_config_effective_renew_deadline_ms(cfg), 10000);
  k8sha_config_free(cfg);
  cfg = load(SEED LE "lease-duration: 2 ms\n" LE "renew-deadline: 2 ms\n" LE "retry-period: 1 ms\n");
  ck_assert_int_eq(k8sha_config_validate(cfg), K8SHA_ECONFIG);
  tu_assert_diag(cfg, K8SHA_DIAG_ERROR, LE "renew-deadline", "too short to fit a request timeout");
  k8sha_config_free(cfg);
}
END_TEST

START_TEST(integer_rules) {
  k8sha_config *cfg;
  expect_rejected("execution.checkpointing.num-retained", "0", "must be at least 1");
  expect_rejected("execution.checkpointing.num-retained", "-1", "negative");
  expect_rejected("execution.checkpointing.num-retained", "three", "not a whole number");
  expect_rejected("execution.checkpointing.num-retained", "2.5", "not a whole number");
  expect_rejected("kubernetes.transactional-operation.max-retries", "many", "not a whole number");
  expect_rejected("kubernetes.transactional-operation.max-retries", "-3", "negative");
  expect_rejected("kubernetes.transactional-operation.max-retries", "100000", "too large");
  cfg = seed_with("kubernetes.transactional-operation.max-retries", "0", 0);
  ck_assert_uint_eq(k8sha_config_max_retries(cfg), 0);
  k8sha_config_free(cfg);
  /* The deprecated key is read when the new one is absent... */
  cfg = seed_with("state.checkpoints.num-retained", "7", 0);
  ck_assert_uint_eq(k8sha_config_num_retained(cfg), 7);
  /* ...and named in its errors. */
  ck_assert_int_eq(k8sha_config_set(cfg, "state.checkpoints.num-retained", "0"), 0);
  ck_assert_int_eq(k8sha_config_validate(cfg), K8SHA_ECONFIG);
  tu_assert_diag(cfg, K8SHA_DIAG_ERROR, "state.checkpoints.num-retained", "at least 1");
  /* The new key wins over the deprecated one. */
  ck_assert_int_eq(k8sha_config_set(cfg, "execution.checkpointing.num-retained", "4"), 0);
  ck_assert_int_eq(k8sha_config_validate(cfg), 0);
  ck_assert_uint_eq(k8sha_config_num_retained(cfg), 4);
  k8sha_config_free(cfg);
}
END_TEST

START_TEST(unknown_leader_election_key_warns) {
  k8sha_config *cfg = seed_with(LE "lease-duraton", "20 s", 0);
  tu_assert_diag(cfg, K8SHA_DIAG_WARNING, LE "lease-duraton", "unknown key");
  k8sha_config_free(cfg);
}
END_TEST

START_TEST(override_diagnostics_say_override) {
  k8sha_config *cfg = seed_with("kubernetes.cluster-id", "Bad_Id", K8SHA_ECONFIG);
  tu_assert_diag(cfg, K8SHA_DIAG_ERROR, "kubernetes.cluster-id", "override: kubernetes.cluster-id:");
  k8sha_config_free(cfg);
}
END_TEST

/* ---- malformed input ---- */

static void expect_load_error(const char *yaml, size_t len, const char *needle, unsigned int line) {
  k8sha_config *cfg = NULL;
  const char *v;
  ck_assert_int_eq(k8sha_config_new(&cfg, NULL), 0);
  ck_assert_int_eq(k8sha_config_set(cfg, "kept", "yes"), 0);
  ck_assert_int_eq(k8sha_config_load_string(cfg, "bad.yaml", yaml, len), K8SHA_ECONFIG);
  tu_assert_diag(cfg, K8SHA_DIAG_ERROR, NULL, needle);
  ck_assert_ptr_nonnull(k8sha_config_last_error(cfg));
  ck_assert_ptr_nonnull(strstr(k8sha_config_last_error(cfg), "bad.yaml"));
  if (line)
    ck_assert_uint_eq(k8sha_config_diag_at(cfg, 0)->line, line);
  /* A failed load changes nothing. */
  ck_assert_int_eq(k8sha_config_get(cfg, "kept", &v), 0);
  ck_assert_int_eq(k8sha_config_get(cfg, "a", &v), K8SHA_ENOTFOUND);
  k8sha_config_free(cfg);
}
#define BAD(yaml, needle, line) expect_load_error(yaml, sizeof(yaml) - 1, needle, line)

START_TEST(malformed_yaml) {
  BAD("a: 1\nb: [1, 2\n", "not valid YAML", 0);
  BAD("a: b: c\n", "not valid YAML", 1);
  BAD("a: 1\n\tb: 2\n", "not valid YAML", 2);
  BAD("a: {x: 1\n", "not valid YAML", 0);
  BAD("a: 'unterminated\n", "not valid YAML", 0);
  BAD("a: *nowhere\n", "not valid YAML", 0);
  BAD("a: 1\n\x01\x02: 2\n", "not valid YAML", 0);
  BAD("key: value\n  bad indent: x\n", "not valid YAML", 2);
  BAD("a: \"\\q\"\n", "not valid YAML", 0);
  BAD("- a\n- b\n", "must be a mapping of keys to values", 1);
  BAD("just some text\n", "must be a mapping of keys to values", 1);
  BAD("a: 1\n---\nb: 2\n", "more than one YAML document", 3);
  BAD("a: 1\n[x, y]: 2\n", "a key must be a non-empty plain value", 2);
  BAD("a: 1\n\"\": 2\n", "a key must be a non-empty plain value", 2);
  BAD("a: [1, {b: 2}]\n", "a list may hold only plain values", 1);
  BAD("a: \"x\\0y\"\n", "NUL character", 1);
  BAD("a: 1\nb:\n  c: [\n", "not valid YAML", 0);
}
END_TEST

START_TEST(deep_nesting_is_refused) {
  char yaml[4096];
  size_t n = 0;
  int i;
  for (i = 0; i < 40; i++)
    n += (size_t)snprintf(yaml + n, sizeof(yaml) - n, "%*sk%d:\n", i, "", i);
  snprintf(yaml + n, sizeof(yaml) - n, "%*sleaf: 1\n", 40, "");
  expect_load_error(yaml, strlen(yaml), "nested too deeply", 0);
}
END_TEST

START_TEST(missing_and_unreadable_files) {
  k8sha_config *cfg = NULL;
  ck_assert_int_eq(k8sha_config_new(&cfg, NULL), 0);
  ck_assert_int_eq(k8sha_config_load_file(cfg, "/nonexistent/flink-conf.yaml"), K8SHA_EIO);
  ck_assert_str_eq(k8sha_config_last_error(cfg),
                   "/nonexistent/flink-conf.yaml: cannot read the configuration file: No such "
                   "file or directory");
  ck_assert_int_eq(k8sha_config_load_file(cfg, tu_tmpdir()), K8SHA_EIO);
  tu_assert_diag(cfg, K8SHA_DIAG_ERROR, NULL, "cannot read the configuration file");
  k8sha_config_free(cfg);
}
END_TEST

START_TEST(empty_file_is_an_empty_configuration) {
  k8sha_config *cfg = NULL;
  ck_assert_int_eq(k8sha_config_new(&cfg, NULL), 0);
  ck_assert_int_eq(k8sha_config_load_file(cfg, tu_write("empty.yaml", "# only a comment\n")), 0);
  ck_assert_int_eq(k8sha_config_validate(cfg), K8SHA_ECONFIG);
  tu_assert_diag(cfg, K8SHA_DIAG_ERROR, "kubernetes.cluster-id", "empty.yaml: kubernetes.cluster-id: missing");
  k8sha_config_free(cfg);
}
END_TEST

START_TEST(example_files_from_the_repository) {
  static const char *const files[] = {"flink-conf.yaml", "config.yaml"};
  size_t i;
  for (i = 0; i < 2; i++) {
    char path[1024];
    k8sha_config *cfg = NULL;
    snprintf(path, sizeof(path), "%s/examples/config/%s", SOURCE_ROOT, files[i]);
    ck_assert_int_eq(k8sha_config_new(&cfg, NULL), 0);
    ck_assert_int_eq(k8sha_config_load_file(cfg, path), 0);
    ck_assert_int_eq(k8sha_config_validate(cfg), 0);
    ck_assert_str_eq(k8sha_config_cluster_id(cfg), "cluster1337");
    ck_assert_str_eq(k8sha_config_namespace(cfg), "flink");
    ck_assert_str_eq(k8sha_config_storage_dir(cfg), "s3://flink/recovery");
    k8sha_config_free(cfg);
  }
}
END_TEST

START_TEST(arguments_are_checked) {
  k8sha_config *cfg = NULL;
  const char *v = "untouched";
  k8sha_allocator bad = {99, NULL, NULL, NULL, NULL};
  ck_assert_int_eq(k8sha_config_new(NULL, NULL), K8SHA_EINVAL);
  ck_assert_int_eq(k8sha_config_new(&cfg, &bad), K8SHA_EINVAL);
  ck_assert_ptr_null(cfg);
  ck_assert_int_eq(k8sha_config_new(&cfg, NULL), 0);
  ck_assert_int_eq(k8sha_config_load_file(cfg, NULL), K8SHA_EINVAL);
  ck_assert_int_eq(k8sha_config_load_file(NULL, "x"), K8SHA_EINVAL);
  ck_assert_int_eq(k8sha_config_load_string(cfg, NULL, "", 0), K8SHA_EINVAL);
  ck_assert_int_eq(k8sha_config_load_string(cfg, "n", NULL, 3), K8SHA_EINVAL);
  ck_assert_int_eq(k8sha_config_set(cfg, "", "x"), K8SHA_EINVAL);
  ck_assert_int_eq(k8sha_config_set(cfg, NULL, "x"), K8SHA_EINVAL);
  ck_assert_int_eq(k8sha_config_get(cfg, "x", NULL), K8SHA_EINVAL);
  ck_assert_int_eq(k8sha_config_get(cfg, "x", &v), K8SHA_ENOTFOUND);
  ck_assert_str_eq(v, "untouched");
  ck_assert_int_eq(k8sha_config_validate(NULL), K8SHA_EINVAL);
  ck_assert_int_eq(k8sha_config_resolve_kube(NULL), K8SHA_EINVAL);
  ck_assert_ptr_null(k8sha_config_diag_at(NULL, 0));
  ck_assert_uint_eq(k8sha_config_diag_count(NULL), 0);
  ck_assert_ptr_null(k8sha_config_last_error(cfg));
  ck_assert_ptr_null(k8sha_config_cluster_id(NULL));
  k8sha_config_free(cfg);
  k8sha_config_free(NULL);
}
END_TEST

/* Aliases that refer to aliases expand exponentially (9 levels of 9: 387 million entries from
 * about 800 bytes): refused with a message, promptly, instead of hanging. */
START_TEST(alias_expansion_is_bounded) {
  char yaml[4096];
  size_t n = 0;
  int level, i;
  k8sha_config *cfg = NULL;
  n += (size_t)snprintf(yaml + n, sizeof(yaml) - n, "l0: &l0 {v: 1}\n");
  for (level = 1; level <= 9; level++) {
    n += (size_t)snprintf(yaml + n, sizeof(yaml) - n, "l%d: &l%d {", level, level);
    for (i = 0; i < 9; i++)
      n += (size_t)snprintf(yaml + n, sizeof(yaml) - n, "%sk%d: *l%d", i ? ", " : "", i, level - 1);
    n += (size_t)snprintf(yaml + n, sizeof(yaml) - n, "}\n");
  }
  ck_assert_int_eq(k8sha_config_new(&cfg, NULL), 0);
  ck_assert_int_eq(k8sha_config_load_string(cfg, "bomb.yaml", yaml, n), K8SHA_ECONFIG);
  ck_assert_msg(tu_has_diag(cfg, K8SHA_DIAG_ERROR, NULL, "more than"), "%s",
                k8sha_config_last_error(cfg));
  ck_assert_uint_eq(k8sha_config_diag_count(cfg), 1); /* said once, not once per entry */
  k8sha_config_free(cfg);
}
END_TEST

/* A bound passed is said once: a few bytes of aliases otherwise made one diagnostic per entry
 * beyond it (hundreds of thousands, over 100 MB), and a key repeated through aliases one warning
 * per repetition. */
START_TEST(expansion_problems_are_said_once) {
  static const char self[] = "a: &a\n  b: &b\n    c: *a\n    d: *b\n";
  char yaml[4096];
  size_t n = 0;
  int level, i;
  k8sha_config *cfg = NULL;

  ck_assert_int_eq(k8sha_config_new(&cfg, NULL), 0);
  ck_assert_int_eq(k8sha_config_load_string(cfg, "self.yaml", self, sizeof(self) - 1),
                   K8SHA_ECONFIG);
  tu_assert_diag(cfg, K8SHA_DIAG_ERROR, NULL, "nested too deeply");
  ck_assert_uint_eq(k8sha_config_diag_count(cfg), 1);
  k8sha_config_free(cfg);

  /* (the bomb of alias_expansion_is_bounded, with one key name at every level: one key repeated
   * until the walk's bound) */
  n += (size_t)snprintf(yaml + n, sizeof(yaml) - n, "l0: &l0 {v: 1}\n");
  for (level = 1; level <= 9; level++) {
    n += (size_t)snprintf(yaml + n, sizeof(yaml) - n, "l%d: &l%d {", level, level);
    for (i = 0; i < 9; i++)
      n += (size_t)snprintf(yaml + n, sizeof(yaml) - n, "%sk: *l%d", i ? ", " : "", level - 1);
    n += (size_t)snprintf(yaml + n, sizeof(yaml) - n, "}\n");
  }
  ck_assert_int_eq(k8sha_config_new(&cfg, NULL), 0);
  ck_assert_int_eq(k8sha_config_load_string(cfg, "repeats.yaml", yaml, n), K8SHA_ECONFIG);
  tu_assert_diag(cfg, K8SHA_DIAG_ERROR, NULL, "more than 1000000 entries");
  tu_assert_diag(cfg, K8SHA_DIAG_WARNING, NULL, "the others are not listed");
  ck_assert_uint_eq(tu_count(cfg, K8SHA_DIAG_ERROR), 1);
  ck_assert_uint_le(tu_count(cfg, K8SHA_DIAG_WARNING), 101);
  k8sha_config_free(cfg);
}
END_TEST

/* A large flat file (50,000 keys, one repeated) loads whole; the repeat is found and said. */
START_TEST(large_flat_files_load) {
  size_t cap = 50000 * 40, n = 0;
  char *yaml = malloc(cap);
  int i;
  const char *v;
  k8sha_config *cfg = NULL;
  ck_assert_ptr_nonnull(yaml);
  for (i = 0; i < 50000; i++)
    n += (size_t)snprintf(yaml + n, cap - n, "key.number.%d: value-%d\n", i, i);
  n += (size_t)snprintf(yaml + n, cap - n, "key.number.17: again\n");
  ck_assert_int_eq(k8sha_config_new(&cfg, NULL), 0);
  ck_assert_int_eq(k8sha_config_load_string(cfg, "big.yaml", yaml, n), 0);
  ck_assert_int_eq(k8sha_config_get(cfg, "key.number.49999", &v), 0);
  ck_assert_str_eq(v, "value-49999");
  ck_assert_int_eq(k8sha_config_get(cfg, "key.number.17", &v), 0);
  ck_assert_str_eq(v, "again");
  ck_assert(tu_has_diag(cfg, K8SHA_DIAG_WARNING, "key.number.17", "repeated (first at line 18)"));
  /* a second file over the first merges key by key */
  ck_assert_int_eq(k8sha_config_load_string(cfg, "more.yaml", "key.number.3: three\nnew.key: x\n",
                                            strlen("key.number.3: three\nnew.key: x\n")), 0);
  ck_assert_int_eq(k8sha_config_get(cfg, "key.number.3", &v), 0);
  ck_assert_str_eq(v, "three");
  ck_assert_int_eq(k8sha_config_get(cfg, "new.key", &v), 0);
  ck_assert_int_eq(k8sha_config_get(cfg, "key.number.4", &v), 0);
  ck_assert_str_eq(v, "value-4");
  k8sha_config_free(cfg);
  free(yaml);
}
END_TEST

int main(void) {
  Suite *s = suite_create("config");
  TCase *load_tc = tcase_create("load");
  TCase *rules = tcase_create("rules");
  TCase *bad = tcase_create("malformed");

  tcase_add_test(load_tc, seed_configuration_is_valid);
  tcase_add_test(load_tc, nested_and_flat_forms_are_equivalent);
  tcase_add_test(load_tc, overrides_and_later_files_win);
  tcase_add_test(load_tc, a_change_invalidates_effective_values);
  tcase_add_test(load_tc, repeated_key_warns_and_takes_the_last);
  tcase_add_test(load_tc, lists_become_semicolon_separated);
  tcase_add_test(load_tc, example_files_from_the_repository);
  tcase_add_test(load_tc, arguments_are_checked);
  suite_add_tcase(s, load_tc);

  tcase_add_test(rules, flink_defaults_get_a_shorter_effective_renew_deadline);
  tcase_add_test(rules, client_go_style_timing_keeps_its_renew_deadline);
  tcase_add_test(rules, diagnostics_name_file_line_and_key);
  tcase_add_test(rules, every_problem_is_reported_at_once);
  tcase_add_test(rules, ha_type_rules);
  tcase_add_test(rules, cluster_id_rules);
  tcase_add_test(rules, ha_cluster_id_rules);
  tcase_add_test(rules, namespace_rules);
  tcase_add_test(rules, storage_dir_rules);
  tcase_add_test(rules, s3_settings_rules);
  tcase_add_test(rules, hdfs_settings_rules);
  tcase_add_test(rules, alias_expansion_is_bounded);
  tcase_add_test(rules, expansion_problems_are_said_once);
  tcase_add_test(rules, large_flat_files_load);
  tcase_add_test(rules, duration_syntax);
  tcase_add_test(rules, timing_rules);
  tcase_add_test(rules, integer_rules);
  tcase_add_test(rules, unknown_leader_election_key_warns);
  tcase_add_test(rules, override_diagnostics_say_override);
  suite_add_tcase(s, rules);

  tcase_add_test(bad, malformed_yaml);
  tcase_add_test(bad, deep_nesting_is_refused);
  tcase_add_test(bad, missing_and_unreadable_files);
  tcase_add_test(bad, empty_file_is_an_empty_configuration);
  suite_add_tcase(s, bad);
  return tu_run(s);
}
