/* Flink configuration YAML -> flat "a.b.c" keys. Handles the flat flink-conf.yaml form, the
 * nested config.yaml form and mixes of both, since a nested mapping is flattened by joining
 * keys. */
#include <jansson.h>
#include <string.h>
#include <yaml.h>

#include "config/config_priv.h"
#include "core/alloc.h"
#include "k8sha/errors.h"

/* Bounds on what one file may expand to. Aliases let a few hundred bytes name an exponential
 * number of entries ("billion laughs"); no Flink configuration comes near these. */
#define FLATTEN_MAX_ENTRIES 200000
#define FLATTEN_MAX_VISITS 1000000 /* key/value pairs walked, aliases expanded */
/* Repeated keys each get a warning up to this many; aliases can repeat one key endlessly. */
#define FLATTEN_MAX_REPEAT_WARNINGS 100

typedef struct flatten_ctx {
  k8sha_config *cfg;
  const char *name;
  yaml_document_t *doc;
  k8sha__entry *entries;
  size_t n, cap;
  json_t *index; /* key -> its entry's position: repeated keys found in O(1), not by a scan */
  size_t visits;
  size_t repeats;
  int failed; /* a problem was recorded; keep walking to report the others */
} flatten_ctx;

static unsigned int line_of(const yaml_node_t *node) {
  return (unsigned int)node->start_mark.line + 1;
}

static int problem(flatten_ctx *c, const yaml_node_t *node, const char *key, const char *what) {
  int rc = k8sha__config_diag(c->cfg, K8SHA__PHASE_LOAD, K8SHA_DIAG_ERROR, c->name,
                              node ? line_of(node) : 0, key, "%s", what);
  c->failed = 1;
  return rc;
}

/* A bound was passed: said once, and the walk stops (the file is refused anyway; going on would
 * say it again for every remaining entry, which an alias can make hundreds of thousands). */
static int limit(flatten_ctx *c, const yaml_node_t *node, const char *key, const char *what) {
  int rc = problem(c, node, key, what);
  return rc ? rc : K8SHA_ECONFIG;
}

static const char *scalar(const yaml_node_t *node) {
  return (const char *)node->data.scalar.value;
}

/* Lists become Flink's legacy ';'-separated form, which is what its list options parse. */
static char *join_sequence(flatten_ctx *c, yaml_node_t *seq, const char *key, int *rc) {
  const k8sha_allocator *a = &c->cfg->alloc;
  yaml_node_item_t *it;
  char *out = k8sha__strdup(a, "");

  for (it = seq->data.sequence.items.start; out && it < seq->data.sequence.items.top; it++) {
    yaml_node_t *item = yaml_document_get_node(c->doc, *it);
    char *next;
    if (!item || item->type != YAML_SCALAR_NODE) {
      k8sha__free(a, out);
      *rc = problem(c, item ? item : seq, key, "a list may hold only plain values");
      return NULL;
    }
    next = k8sha__asprintf(a, "%s%s%s", out, *out ? ";" : "", scalar(item));
    k8sha__free(a, out);
    out = next;
  }
  if (!out)
    *rc = K8SHA_ENOMEM;
  return out;
}

static int add_entry(flatten_ctx *c, char *key, char *value, unsigned int line) {
  const k8sha_allocator *a = &c->cfg->alloc;
  json_t *at = json_object_get(c->index, key);
  size_t i;
  int rc;

  if (at) {
    /* Flink takes the last occurrence too; say so, since it is usually an editing slip. */
    i = (size_t)json_integer_value(at);
    rc = 0;
    if (++c->repeats <= FLATTEN_MAX_REPEAT_WARNINGS)
      rc = k8sha__config_diag(c->cfg, K8SHA__PHASE_LOAD, K8SHA_DIAG_WARNING, c->name, line, key,
                              "repeated (first at line %u); this later value is used",
                              c->entries[i].line);
    else if (c->repeats == FLATTEN_MAX_REPEAT_WARNINGS + 1)
      rc = k8sha__config_diag(c->cfg, K8SHA__PHASE_LOAD, K8SHA_DIAG_WARNING, c->name, line, NULL,
                              "more than %d keys are repeated; the others are not listed",
                              FLATTEN_MAX_REPEAT_WARNINGS);
    k8sha__free(a, c->entries[i].value);
    c->entries[i].value = value;
    c->entries[i].line = line;
    k8sha__free(a, key);
    return rc;
  }
  if (c->n >= FLATTEN_MAX_ENTRIES) {
    k8sha__free(a, key);
    k8sha__free(a, value);
    return limit(c, NULL, NULL, "more than 200000 keys");
  }
  rc = k8sha__grow(a, (void **)&c->entries, &c->cap, c->n + 1, sizeof(*c->entries));
  if (rc == 0)
    c->entries[c->n].file = k8sha__strdup(a, c->name);
  if (rc == 0 && c->entries[c->n].file &&
      json_object_set_new_nocheck(c->index, key, json_integer((json_int_t)c->n)) != 0) {
    k8sha__free(a, c->entries[c->n].file);
    c->entries[c->n].file = NULL;
  }
  if (rc || !c->entries[c->n].file) {
    k8sha__free(a, key);
    k8sha__free(a, value);
    return K8SHA_ENOMEM;
  }
  c->entries[c->n].key = key;
  c->entries[c->n].value = value;
  c->entries[c->n].line = line;
  c->n++;
  return 0;
}

static int walk_mapping(flatten_ctx *c, yaml_node_t *map, const char *prefix, int depth) {
  const k8sha_allocator *a = &c->cfg->alloc;
  yaml_node_pair_t *pair;

  /* Aliases can make a document refer to itself; no real configuration nests this deep. */
  if (depth > 32)
    return limit(c, map, prefix, "nested too deeply (more than 32 levels)");
  for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
    yaml_node_t *k = yaml_document_get_node(c->doc, pair->key);
    yaml_node_t *v = yaml_document_get_node(c->doc, pair->value);
    char *key, *value;
    int rc = 0;

    if (++c->visits > FLATTEN_MAX_VISITS)
      return limit(c, k, NULL,
                   "the document expands to more than 1000000 entries (aliases referring to "
                   "aliases?); refused");

    if (!k || !v)
      continue;
    if (k->type != YAML_SCALAR_NODE || k->data.scalar.length == 0) {
      rc = problem(c, k, prefix && *prefix ? prefix : NULL,
                   "a key must be a non-empty plain value");
      if (rc)
        return rc;
      continue;
    }
    if (strlen(scalar(k)) != k->data.scalar.length) {
      rc = problem(c, k, prefix && *prefix ? prefix : NULL, "a key contains a NUL character");
      if (rc)
        return rc;
      continue;
    }
    key = prefix && *prefix ? k8sha__asprintf(a, "%s.%s", prefix, scalar(k))
                            : k8sha__strdup(a, scalar(k));
    if (!key)
      return K8SHA_ENOMEM;
    switch (v->type) {
    case YAML_MAPPING_NODE:
      rc = walk_mapping(c, v, key, depth + 1);
      k8sha__free(a, key);
      break;
    case YAML_SEQUENCE_NODE:
      value = join_sequence(c, v, key, &rc);
      if (value)
        rc = add_entry(c, key, value, line_of(k));
      else
        k8sha__free(a, key);
      break;
    case YAML_SCALAR_NODE:
      if (strlen(scalar(v)) != v->data.scalar.length) {
        rc = problem(c, v, key, "the value contains a NUL character");
        k8sha__free(a, key);
        break;
      }
      value = k8sha__strdup(a, scalar(v));
      rc = value ? add_entry(c, key, value, line_of(k)) : K8SHA_ENOMEM;
      if (!value)
        k8sha__free(a, key);
      break;
    default:
      k8sha__free(a, key);
      break;
    }
    if (rc)
      return rc;
  }
  return 0;
}

static int parser_problem(flatten_ctx *c, const yaml_parser_t *p) {
  const char *what = p->problem ? p->problem : "malformed input";
  const char *ctx = p->context ? p->context : NULL;
  unsigned int line = (unsigned int)p->problem_mark.line + 1;
  c->failed = 1;
  if (p->error == YAML_MEMORY_ERROR)
    return K8SHA_ENOMEM;
  return k8sha__config_diag(c->cfg, K8SHA__PHASE_LOAD, K8SHA_DIAG_ERROR, c->name, line, NULL,
                            "not valid YAML: %s%s%s (column %u)", what, ctx ? ", " : "",
                            ctx ? ctx : "", (unsigned int)p->problem_mark.column + 1);
}

int k8sha__yaml_flatten(k8sha_config *cfg, const char *name, const char *yaml, size_t len,
                        k8sha__entry **entries, size_t *n) {
  yaml_parser_t parser;
  yaml_document_t doc, extra;
  flatten_ctx c;
  yaml_node_t *root;
  int rc = 0;
  size_t i;

  memset(&c, 0, sizeof(c));
  c.cfg = cfg;
  c.name = name;
  c.doc = &doc;
  c.index = json_object();
  if (!c.index)
    return K8SHA_ENOMEM;
  if (!yaml_parser_initialize(&parser)) {
    json_decref(c.index);
    return K8SHA_ENOMEM;
  }
  yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
  if (!yaml_parser_load(&parser, &doc)) {
    rc = parser_problem(&c, &parser);
    yaml_parser_delete(&parser);
    json_decref(c.index);
    return rc ? rc : K8SHA_ECONFIG;
  }
  root = yaml_document_get_root_node(&doc);
  if (root && root->type == YAML_MAPPING_NODE) {
    rc = walk_mapping(&c, root, NULL, 0);
  } else if (root && !(root->type == YAML_SCALAR_NODE && root->data.scalar.length == 0)) {
    rc = problem(&c, root, NULL, "a configuration file must be a mapping of keys to values");
  }
  if (rc == 0 && root) {
    /* A second document would be silently ignored by most readers; refuse it instead. */
    if (!yaml_parser_load(&parser, &extra)) {
      rc = parser_problem(&c, &parser);
    } else {
      yaml_node_t *r2 = yaml_document_get_root_node(&extra);
      if (r2)
        rc = problem(&c, r2, NULL, "more than one YAML document; put everything in one");
      yaml_document_delete(&extra);
    }
  }
  yaml_document_delete(&doc);
  yaml_parser_delete(&parser);
  json_decref(c.index);
  if (rc == 0 && c.failed)
    rc = K8SHA_ECONFIG;
  if (rc) {
    for (i = 0; i < c.n; i++)
      k8sha__entry_clear(&cfg->alloc, &c.entries[i]);
    k8sha__free(&cfg->alloc, c.entries);
    return rc;
  }
  *entries = c.entries;
  *n = c.n;
  return 0;
}
