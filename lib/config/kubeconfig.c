/* kubeconfig files -> k8sha__kube_access. Several files merge as client-go merges them: for each
 * named cluster, user and context the first file that defines it wins, and current-context is
 * taken from the first file that sets it. Relative paths are relative to the defining file. */
#include <errno.h>
#include <string.h>
#include <yaml.h>

#include "config/config_priv.h"
#include "config/kube_access.h"
#include "core/alloc.h"
#include "core/base64.h"
#include "core/fileio.h"
#include "k8sha/errors.h"

/* Certificates, keys and tokens are small; refuse anything absurdly large. */
#define K8SHA__CREDENTIAL_FILE_MAX (1024u * 1024u)
#define K8SHA__KUBECONFIG_FILE_MAX (16u * 1024u * 1024u)
#define PEM_MARKER "-----BEGIN "

typedef struct kc_file {
  const char *path;
  char *dir; /* for relative paths inside it */
  yaml_document_t doc;
  int loaded;
} kc_file;

typedef struct kc_ctx {
  k8sha_config *cfg;
  kc_file *files;
  size_t n_files;
  int errors;
  int rc;
} kc_ctx;

/* A named item found in one of the files: the inner mapping (cluster/user/context body). */
typedef struct kc_item {
  kc_file *file;
  yaml_node_t *body;
  yaml_node_t *entry; /* the list element, for its line */
} kc_item;

static void fail(kc_ctx *c, const kc_file *f, const yaml_node_t *node, const char *what, ...)
    __attribute__((format(printf, 4, 5)));
static void fail(kc_ctx *c, const kc_file *f, const yaml_node_t *node, const char *what, ...) {
  va_list ap;
  int rc;
  va_start(ap, what);
  rc = k8sha__config_vdiag(c->cfg, K8SHA__PHASE_RESOLVE, K8SHA_DIAG_ERROR, f ? f->path : NULL,
                           node ? (unsigned int)node->start_mark.line + 1 : 0, 0, NULL, what, ap);
  va_end(ap);
  if (rc && !c->rc)
    c->rc = rc;
  c->errors++;
}

static void oom(kc_ctx *c) {
  if (!c->rc)
    c->rc = K8SHA_ENOMEM;
}

static yaml_node_t *map_get(yaml_document_t *doc, yaml_node_t *map, const char *key) {
  yaml_node_pair_t *p;
  if (!map || map->type != YAML_MAPPING_NODE)
    return NULL;
  for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
    yaml_node_t *k = yaml_document_get_node(doc, p->key);
    if (k && k->type == YAML_SCALAR_NODE && strcmp((const char *)k->data.scalar.value, key) == 0)
      return yaml_document_get_node(doc, p->value);
  }
  return NULL;
}

/* The value of a scalar field; NULL when absent or empty. A non-scalar is an error. */
static const char *str_field(kc_ctx *c, kc_file *f, yaml_node_t *map, const char *key,
                             const char *where) {
  yaml_node_t *n = map_get(&f->doc, map, key);
  if (!n)
    return NULL;
  if (n->type != YAML_SCALAR_NODE) {
    fail(c, f, n, "%s.%s must be a plain value", where, key);
    return NULL;
  }
  if (n->data.scalar.length == 0 || strcmp((const char *)n->data.scalar.value, "~") == 0 ||
      strcmp((const char *)n->data.scalar.value, "null") == 0)
    return NULL;
  if (strlen((const char *)n->data.scalar.value) != n->data.scalar.length) {
    /* ("\0" in a quoted value): the value would be cut short there, silently */
    fail(c, f, n, "%s.%s contains a NUL character", where, key);
    return NULL;
  }
  return (const char *)n->data.scalar.value;
}

/* Parses `text` (the contents of f->path) into f->doc. 0, or K8SHA_ENOMEM; a malformed document
 * is a diagnostic. */
static int load_text(kc_ctx *c, kc_file *f, const char *text, size_t len) {
  const k8sha_allocator *a = &c->cfg->alloc;
  yaml_parser_t parser;
  char *slash;

  f->dir = k8sha__strdup(a, f->path);
  if (!f->dir)
    return K8SHA_ENOMEM;
  slash = strrchr(f->dir, '/');
  if (slash)
    slash[slash == f->dir ? 1 : 0] = '\0';
  else
    strcpy(f->dir, ".");
  if (!yaml_parser_initialize(&parser))
    return K8SHA_ENOMEM;
  yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
  if (!yaml_parser_load(&parser, &f->doc)) {
    fail(c, f, NULL, "not valid YAML: %s at line %u", parser.problem ? parser.problem : "?",
         (unsigned int)parser.problem_mark.line + 1);
  } else {
    yaml_node_t *root = yaml_document_get_root_node(&f->doc);
    f->loaded = 1;
    if (root && root->type != YAML_MAPPING_NODE)
      fail(c, f, root, "a kubeconfig must be a mapping (apiVersion, clusters, users, ...)");
  }
  yaml_parser_delete(&parser);
  return 0;
}

static int load_file(kc_ctx *c, kc_file *f) {
  const k8sha_allocator *a = &c->cfg->alloc;
  char *text = NULL;
  size_t len;
  int rc;

  rc = k8sha__read_file(a, f->path, K8SHA__KUBECONFIG_FILE_MAX, &text, &len);
  if (rc == K8SHA_EIO) {
    fail(c, f, NULL, "cannot read the kubeconfig: %s", strerror(errno));
    return 0;
  }
  if (rc)
    return rc;
  rc = load_text(c, f, text, len);
  k8sha__free(a, text);
  return rc;
}

/* Finds `name` in the list `list` ("clusters", "users", "contexts") of the first file having it;
 * `inner` is the body key ("cluster", "user", "context"). */
static int find_item(kc_ctx *c, const char *list, const char *inner, const char *name,
                     kc_item *out) {
  size_t i;
  for (i = 0; i < c->n_files; i++) {
    kc_file *f = &c->files[i];
    yaml_node_t *seq, *root;
    yaml_node_item_t *it;
    if (!f->loaded || !(root = yaml_document_get_root_node(&f->doc)))
      continue;
    seq = map_get(&f->doc, root, list);
    if (!seq || seq->type != YAML_SEQUENCE_NODE)
      continue;
    for (it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++) {
      yaml_node_t *entry = yaml_document_get_node(&f->doc, *it);
      yaml_node_t *n = map_get(&f->doc, entry, "name");
      if (n && n->type == YAML_SCALAR_NODE &&
          strcmp((const char *)n->data.scalar.value, name) == 0) {
        out->file = f;
        out->entry = entry;
        out->body = map_get(&f->doc, entry, inner);
        return 1;
      }
    }
  }
  return 0;
}

static char *resolve_path(kc_ctx *c, const kc_file *f, const char *p) {
  char *s = p[0] == '/' ? k8sha__strdup(&c->cfg->alloc, p)
                        : k8sha__asprintf(&c->cfg->alloc, "%s/%s", f->dir, p);
  if (!s)
    oom(c);
  return s;
}

/* Checks that a credential file is readable (and PEM when `pem`); the contents are dropped. */
static void check_file(kc_ctx *c, const kc_item *it, const char *field, const char *where,
                       const char *path, int pem) {
  char *text = NULL;
  size_t len;
  int rc = k8sha__read_file(&c->cfg->alloc, path, K8SHA__CREDENTIAL_FILE_MAX, &text, &len);
  yaml_node_t *node = map_get(&it->file->doc, it->body, field);

  if (rc == K8SHA_EIO)
    fail(c, it->file, node, "%s.%s: cannot read '%s': %s", where, field, path, strerror(errno));
  else if (rc)
    oom(c);
  else if (pem && !strstr(text, PEM_MARKER))
    fail(c, it->file, node, "%s.%s: '%s' is not a PEM file", where, field, path);
  else if (!pem && len == 0)
    fail(c, it->file, node, "%s.%s: '%s' is empty", where, field, path);
  k8sha__free(&c->cfg->alloc, text);
}

/* A *-data field: base64 of a PEM document. */
static char *decode_pem(kc_ctx *c, const kc_item *it, const char *field, const char *where,
                        const char *b64, size_t *len) {
  unsigned char *pem = NULL;
  int rc = k8sha__base64_decode(&c->cfg->alloc, b64, strlen(b64), &pem, len);
  if (rc == K8SHA_ENOMEM) {
    oom(c);
    return NULL;
  }
  if (rc || !strstr((const char *)pem, PEM_MARKER)) {
    fail(c, it->file, map_get(&it->file->doc, it->body, field),
         "%s.%s is not base64 of a PEM document", where, field);
    k8sha__free(&c->cfg->alloc, pem);
    return NULL;
  }
  return (char *)pem;
}

/* path (file field) or inline data (data field); at most one of them. */
static void take_pem(kc_ctx *c, const kc_item *it, const char *where, const char *file_field,
                     const char *data_field, char **file_out, char **pem_out, size_t *len_out) {
  const char *path = str_field(c, it->file, it->body, file_field, where);
  const char *data = str_field(c, it->file, it->body, data_field, where);
  if (data) {
    /* client-go gives the inline data precedence over the file. */
    *pem_out = decode_pem(c, it, data_field, where, data, len_out);
  } else if (path) {
    *file_out = resolve_path(c, it->file, path);
    if (*file_out)
      check_file(c, it, file_field, where, *file_out, 1);
  }
}

static void read_cluster(kc_ctx *c, const kc_item *it, const char *name, k8sha__kube_access *k) {
  const k8sha_allocator *a = &c->cfg->alloc;
  char where[300];
  const char *server, *insecure, *sni;
  size_t n;

  snprintf(where, sizeof(where), "clusters[%s].cluster", name);
  if (!it->body || it->body->type != YAML_MAPPING_NODE) {
    fail(c, it->file, it->entry, "%s is missing", where);
    return;
  }
  server = str_field(c, it->file, it->body, "server", where);
  if (!server) {
    fail(c, it->file, it->body, "%s.server is missing", where);
  } else if (strncmp(server, "https://", 8) != 0 && strncmp(server, "http://", 7) != 0) {
    fail(c, it->file, map_get(&it->file->doc, it->body, "server"),
         "%s.server '%s' must start with https:// or http://", where, server);
  } else {
    k->server = k8sha__strdup(a, server);
    if (!k->server) {
      oom(c);
      return;
    }
    n = strlen(k->server);
    while (n > 0 && k->server[n - 1] == '/')
      k->server[--n] = '\0';
  }
  insecure = str_field(c, it->file, it->body, "insecure-skip-tls-verify", where);
  if (insecure) {
    if (strcmp(insecure, "true") == 0)
      k->insecure = 1;
    else if (strcmp(insecure, "false") != 0)
      fail(c, it->file, map_get(&it->file->doc, it->body, "insecure-skip-tls-verify"),
           "%s.insecure-skip-tls-verify must be true or false, not '%s'", where, insecure);
  }
  take_pem(c, it, where, "certificate-authority", "certificate-authority-data", &k->ca_file,
           &k->ca_pem, &k->ca_pem_len);
  if (k->insecure && (k->ca_file || k->ca_pem))
    fail(c, it->file, it->body,
         "%s: a certificate authority and insecure-skip-tls-verify exclude each other", where);
  sni = str_field(c, it->file, it->body, "tls-server-name", where);
  if (sni && !(k->tls_server_name = k8sha__strdup(a, sni)))
    oom(c);
}

static void read_user(kc_ctx *c, const kc_item *it, const char *name, k8sha__kube_access *k) {
  const k8sha_allocator *a = &c->cfg->alloc;
  char where[300];
  const char *token, *token_file;
  static const char *const unsupported[] = {"exec", "auth-provider", "username", "password"};
  size_t i;

  snprintf(where, sizeof(where), "users[%s].user", name);
  if (!it->body)
    return; /* a user with no fields: anonymous */
  if (it->body->type != YAML_MAPPING_NODE) {
    fail(c, it->file, it->body, "%s must be a mapping", where);
    return;
  }
  for (i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++) {
    yaml_node_t *n = map_get(&it->file->doc, it->body, unsupported[i]);
    if (n)
      fail(c, it->file, n,
           "%s.%s is not supported; use token, tokenFile or a client certificate", where,
           unsupported[i]);
  }
  take_pem(c, it, where, "client-certificate", "client-certificate-data", &k->cert_file,
           &k->cert_pem, &k->cert_pem_len);
  take_pem(c, it, where, "client-key", "client-key-data", &k->key_file, &k->key_pem,
           &k->key_pem_len);
  if ((k->cert_file || k->cert_pem) != (k->key_file || k->key_pem))
    fail(c, it->file, it->body, "%s: a client certificate needs its key, and a key its certificate",
         where);
  else if (k->cert_file || k->cert_pem)
    k->auth |= K8SHA_AUTH_CLIENT_CERT;

  token = str_field(c, it->file, it->body, "token", where);
  token_file = str_field(c, it->file, it->body, "tokenFile", where);
  if (token_file) {
    /* As in client-go, a token file wins over an inline token: it is the one that rotates. */
    k->token_file = resolve_path(c, it->file, token_file);
    if (k->token_file) {
      check_file(c, it, "tokenFile", where, k->token_file, 0);
      k->auth |= K8SHA_AUTH_TOKEN_FILE;
    }
  } else if (token) {
    if (!(k->token = k8sha__strdup(a, token))) {
      oom(c);
      return;
    }
    k->auth |= K8SHA_AUTH_TOKEN;
  }
}

/* The first file's contents are `text` when it is not NULL, else every file is read. */
static int resolve(k8sha_config *cfg, const char *const *paths, size_t n_paths, const char *text,
                   size_t text_len, const char *context, k8sha__kube_access *k) {
  const k8sha_allocator *a = &cfg->alloc;
  kc_ctx c;
  kc_item ctx_it, cl_it, us_it;
  const char *ctx_name = context, *cluster, *user, *ns;
  char where[300];
  size_t i;
  int rc = 0;

  memset(&c, 0, sizeof(c));
  c.cfg = cfg;
  c.files = k8sha__calloc(a, n_paths, sizeof(*c.files));
  if (!c.files)
    return K8SHA_ENOMEM;
  c.n_files = n_paths;
  for (i = 0; i < n_paths && rc == 0; i++) {
    c.files[i].path = paths[i];
    rc = i == 0 && text ? load_text(&c, &c.files[i], text, text_len) : load_file(&c, &c.files[i]);
  }
  if (rc || c.errors)
    goto out;

  for (i = 0; i < n_paths && !ctx_name; i++) {
    yaml_node_t *root = yaml_document_get_root_node(&c.files[i].doc);
    if (c.files[i].loaded && root)
      ctx_name = str_field(&c, &c.files[i], root, "current-context", "kubeconfig");
  }
  if (!ctx_name) {
    fail(&c, &c.files[0], NULL,
         "no current-context is set; set kubernetes.context to one of the file's contexts");
    goto out;
  }
  if (!find_item(&c, "contexts", "context", ctx_name, &ctx_it)) {
    fail(&c, &c.files[0], NULL, "context '%s' is not defined in contexts", ctx_name);
    goto out;
  }
  snprintf(where, sizeof(where), "contexts[%s].context", ctx_name);
  cluster = str_field(&c, ctx_it.file, ctx_it.body, "cluster", where);
  user = str_field(&c, ctx_it.file, ctx_it.body, "user", where);
  ns = str_field(&c, ctx_it.file, ctx_it.body, "namespace", where);
  if (!cluster) {
    fail(&c, ctx_it.file, ctx_it.entry, "%s.cluster is missing", where);
    goto out;
  }
  if (!find_item(&c, "clusters", "cluster", cluster, &cl_it)) {
    fail(&c, ctx_it.file, ctx_it.body, "%s names cluster '%s', which is not defined", where,
         cluster);
    goto out;
  }
  read_cluster(&c, &cl_it, cluster, k);
  if (user) {
    if (!find_item(&c, "users", "user", user, &us_it))
      fail(&c, ctx_it.file, ctx_it.body, "%s names user '%s', which is not defined", where, user);
    else
      read_user(&c, &us_it, user, k);
  }
  if (ns && !(k->context_namespace = k8sha__strdup(a, ns)))
    oom(&c);
  if (!c.errors && !c.rc) {
    k->source = k8sha__asprintf(a, "kubeconfig %s%s, context %s", paths[0],
                                n_paths > 1 ? " (and others)" : "", ctx_name);
    if (!k->source)
      oom(&c);
  }

out:
  for (i = 0; i < c.n_files; i++) {
    if (c.files[i].loaded)
      yaml_document_delete(&c.files[i].doc);
    k8sha__free(a, c.files[i].dir);
  }
  k8sha__free(a, c.files);
  if (rc)
    return rc;
  if (c.rc)
    return c.rc;
  return c.errors ? K8SHA_ECONFIG : 0;
}

int k8sha__kubeconfig_resolve(k8sha_config *cfg, const char *const *paths, size_t n_paths,
                              const char *context, k8sha__kube_access *k) {
  return resolve(cfg, paths, n_paths, NULL, 0, context, k);
}

int k8sha__kubeconfig_resolve_text(k8sha_config *cfg, const char *path, const char *text,
                                   size_t len, const char *context, k8sha__kube_access *k) {
  if (!text)
    return K8SHA_EINVAL;
  return resolve(cfg, &path, 1, text, len, context, k);
}
