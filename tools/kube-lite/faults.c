/*
 * Fault injection rules and request counters.
 *
 * Decisions draw from one seeded generator, and only when a rule with a
 * fractional rate matches, so a given sequence of requests meets the same
 * faults on every run with the same --seed.
 */
#include "kl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct rule {
  struct rule *next;
  int id;
  unsigned verbs;     /* bit per kl_verb; 0 matches every request */
  unsigned resources; /* bit per kl_res_id; 0 matches every request */
  char *ns, *name;
  char **users; /* NULL-terminated; NULL matches every client */
  char *retry_header;
  bool drop;
  bool after_apply; /* code or drop replaces the answer of a request that was served */
  uint64_t latency_ms;
  int code;
  double rate;
  unsigned retry_after;
  int64_t remaining; /* < 0: unlimited */
  uint64_t hits;
} rule;

typedef struct counter {
  int verb, res, code;
  uint64_t count;
} counter;

struct kl_faults {
  rule *rules;
  int next_id;
  kl_rng rng;
  uint64_t seed;
  counter *counters;
  size_t ncounters, cap;
  uint64_t total;
};

kl_faults *kl_faults_new(uint64_t seed) {
  kl_faults *f = kl_xcalloc(1, sizeof *f);
  f->next_id = 1;
  kl_faults_reseed(f, seed);
  return f;
}

static void rule_free(rule *r) {
  free(r->ns);
  free(r->name);
  for (char **u = r->users; u && *u; u++)
    free(*u);
  free(r->users);
  free(r->retry_header);
  free(r);
}

void kl_faults_free(kl_faults *f) {
  if (!f)
    return;
  kl_faults_clear(f, 0);
  free(f->counters);
  free(f);
}

void kl_faults_reseed(kl_faults *f, uint64_t seed) {
  f->seed = seed;
  kl_rng_seed(&f->rng, seed);
}

static bool rule_matches(const rule *r, const kl_ctx *ctx) {
  if (r->remaining == 0)
    return false;
  if (r->verbs && (ctx->verb < 0 || ctx->verb >= KL_VERB_COUNT || !((r->verbs >> ctx->verb) & 1)))
    return false;
  if (r->resources && (ctx->res < 0 || !((r->resources >> ctx->res) & 1)))
    return false;
  if (r->ns && (!ctx->ns || strcmp(r->ns, ctx->ns) != 0))
    return false;
  if (r->name && (!ctx->name || strcmp(r->name, ctx->name) != 0))
    return false;
  if (r->users) {
    bool found = false;
    for (char **u = r->users; *u && !found; u++)
      found = ctx->token && strcmp(*u, ctx->token->user) == 0;
    if (!found)
      return false;
  }
  return true;
}

void kl_faults_decide(kl_faults *f, const kl_ctx *ctx, kl_fault_decision *out) {
  memset(out, 0, sizeof *out);
  for (rule *r = f->rules; r; r = r->next) {
    if (!rule_matches(r, ctx))
      continue;
    bool applied = false;
    if ((r->code || r->drop) && !out->code && !out->drop) {
      bool fire = r->rate >= 1.0 || (r->rate > 0 && kl_rng_unit(&f->rng) < r->rate);
      if (fire) {
        out->code = r->code;
        out->drop = r->drop;
        out->after_apply = r->after_apply;
        out->retry_after = r->retry_after;
        out->retry_header = r->retry_header;
        applied = true;
      }
    }
    if (r->latency_ms && (!(r->code || r->drop) || applied)) {
      out->latency_ms += r->latency_ms;
      applied = true;
    }
    if (applied) {
      r->hits++;
      if (r->remaining > 0)
        r->remaining--;
    }
  }
}

static unsigned names_mask(json_t *arr, int (*lookup)(const char *), bool *ok) {
  unsigned m = 0;
  size_t i;
  json_t *v;
  if (!arr)
    return 0;
  if (!json_is_array(arr)) {
    *ok = false;
    return 0;
  }
  json_array_foreach(arr, i, v) {
    const char *s = json_string_value(v);
    int bit = s ? lookup(s) : -1;
    if (bit < 0) {
      *ok = false;
      return 0;
    }
    m |= 1u << bit;
  }
  return m;
}

static int res_lookup(const char *s) {
  for (int r = 0; r < KL_RES_COUNT; r++)
    if (strcmp(s, kl_resources[r].plural) == 0)
      return r;
  return strcmp(s, "namespaces") == 0 ? KL_RES_NAMESPACES : -1;
}

int kl_faults_add(kl_faults *f, json_t *spec, char **err) {
  *err = NULL;
  bool ok = json_is_object(spec);
  rule *r = kl_xcalloc(1, sizeof *r);
  r->remaining = -1;
  r->rate = 1.0;
  if (ok) {
    r->verbs = names_mask(json_object_get(spec, "verbs"), kl_verb_from_name, &ok);
    r->resources = names_mask(json_object_get(spec, "resources"), res_lookup, &ok);
  }
  json_t *v;
  if (ok && (v = json_object_get(spec, "namespace")))
    ok = json_is_string(v) && (r->ns = kl_strdup(json_string_value(v)));
  if (ok && (v = json_object_get(spec, "name")))
    ok = json_is_string(v) && (r->name = kl_strdup(json_string_value(v)));
  if (ok && (v = json_object_get(spec, "users"))) {
    ok = json_is_array(v) && json_array_size(v) > 0;
    if (ok) {
      size_t i, n = json_array_size(v);
      json_t *u;
      r->users = kl_xcalloc(n + 1, sizeof *r->users);
      json_array_foreach(v, i, u) {
        if (!json_is_string(u)) {
          ok = false;
          break;
        }
        r->users[i] = kl_strdup(json_string_value(u));
      }
    }
  }
  if (ok && (v = json_object_get(spec, "drop")))
    ok = json_is_boolean(v) && (r->drop = json_is_true(v), true);
  if (ok && (v = json_object_get(spec, "afterApply")))
    ok = json_is_boolean(v) && (r->after_apply = json_is_true(v), true);
  if (ok && (v = json_object_get(spec, "retryAfterHeader"))) {
    /* Sent verbatim (a client must survive "-1" or "99999999999"); one header line only. */
    const char *h = json_string_value(v);
    ok = h && strlen(h) < 40 && !strpbrk(h, "\r\n") && (r->retry_header = kl_strdup(h));
  }
  if (ok && (v = json_object_get(spec, "latencyMs")))
    ok = json_is_integer(v) && json_integer_value(v) >= 0 &&
         (r->latency_ms = (uint64_t)json_integer_value(v), true);
  if (ok && (v = json_object_get(spec, "code")))
    ok = json_is_integer(v) && json_integer_value(v) >= 400 && json_integer_value(v) <= 599 &&
         (r->code = (int)json_integer_value(v), true);
  if (ok && (v = json_object_get(spec, "rate")))
    ok = json_is_number(v) && json_number_value(v) >= 0 && json_number_value(v) <= 1 &&
         (r->rate = json_number_value(v), true);
  r->retry_after = r->code == 429 ? 1 : 0;
  if (ok && (v = json_object_get(spec, "retryAfterSeconds")))
    ok = json_is_integer(v) && json_integer_value(v) >= 0 &&
         (r->retry_after = (unsigned)json_integer_value(v), true);
  if (ok && (v = json_object_get(spec, "count")))
    ok = json_is_integer(v) && json_integer_value(v) >= 0 &&
         (r->remaining = json_integer_value(v), true);
  if (ok && r->code && r->drop)
    ok = false;
  if (ok && r->after_apply && !r->code && !r->drop)
    ok = false;
  if (ok && !r->code && !r->latency_ms && !r->drop) {
    *err = kl_strdup("a fault needs latencyMs, code or drop");
    rule_free(r);
    return -1;
  }
  if (!ok) {
    *err = kl_strdup("bad fault rule: fields are verbs[], resources[], namespace, name, "
                     "users[], latencyMs, code (400-599) or drop (true), afterApply (with code or "
                     "drop), rate (0..1), "
                     "retryAfterSeconds, retryAfterHeader (up to 39 characters), count");
    rule_free(r);
    return -1;
  }
  r->id = f->next_id++;
  /* Appended, so rules are consulted in the order they were added. */
  rule **pp = &f->rules;
  while (*pp)
    pp = &(*pp)->next;
  *pp = r;
  return r->id;
}

json_t *kl_faults_list(const kl_faults *f) {
  json_t *arr = json_array();
  for (rule *r = f->rules; r; r = r->next) {
    json_t *verbs = json_array(), *res = json_array();
    for (int i = 0; i < KL_VERB_COUNT; i++)
      if ((r->verbs >> i) & 1)
        json_array_append_new(verbs, json_string(kl_verb_names[i]));
    for (int i = 0; i <= KL_RES_NAMESPACES; i++)
      if ((r->resources >> i) & 1)
        json_array_append_new(res, json_string(kl_res_plural(i)));
    json_t *o = json_pack("{s:i,s:o,s:o,s:I,s:i,s:f,s:i,s:I,s:I}", "id", r->id, "verbs", verbs,
                          "resources", res, "latencyMs", (json_int_t)r->latency_ms, "code", r->code,
                          "rate", r->rate, "retryAfterSeconds", (int)r->retry_after, "remaining",
                          (json_int_t)r->remaining, "hits", (json_int_t)r->hits);
    if (r->ns)
      json_object_set_new(o, "namespace", json_string(r->ns));
    if (r->name)
      json_object_set_new(o, "name", json_string(r->name));
    if (r->users) {
      json_t *users = json_array();
      for (char **u = r->users; *u; u++)
        json_array_append_new(users, json_string(*u));
      json_object_set_new(o, "users", users);
    }
    if (r->drop)
      json_object_set_new(o, "drop", json_true());
    if (r->after_apply)
      json_object_set_new(o, "afterApply", json_true());
    if (r->retry_header)
      json_object_set_new(o, "retryAfterHeader", json_string(r->retry_header));
    json_array_append_new(arr, o);
  }
  return json_pack("{s:o,s:I}", "faults", arr, "seed", (json_int_t)f->seed);
}

void kl_faults_clear(kl_faults *f, int id) {
  rule **pp = &f->rules;
  while (*pp) {
    rule *r = *pp;
    if (id == 0 || r->id == id) {
      *pp = r->next;
      rule_free(r);
    } else {
      pp = &r->next;
    }
  }
}

/* ---- counters -------------------------------------------------------------- */

void kl_faults_count(kl_faults *f, int verb, int res, int code) {
  f->total++;
  for (size_t i = 0; i < f->ncounters; i++) {
    counter *c = &f->counters[i];
    if (c->verb == verb && c->res == res && c->code == code) {
      c->count++;
      return;
    }
  }
  if (f->ncounters == f->cap) {
    f->cap = f->cap ? f->cap * 2 : 32;
    f->counters = kl_xrealloc(f->counters, f->cap * sizeof *f->counters);
  }
  f->counters[f->ncounters++] = (counter){verb, res, code, 1};
}

json_t *kl_faults_stats(const kl_faults *f) {
  json_t *arr = json_array();
  for (size_t i = 0; i < f->ncounters; i++) {
    const counter *c = &f->counters[i];
    const char *verb =
        c->verb >= 0 && c->verb < KL_VERB_COUNT ? kl_verb_names[c->verb] : "nonresource";
    json_array_append_new(arr, json_pack("{s:s,s:s,s:i,s:I}", "verb", verb, "resource",
                                         kl_res_plural(c->res), "code", c->code, "count",
                                         (json_int_t)c->count));
  }
  return json_pack("{s:I,s:o}", "total", (json_int_t)f->total, "requests", arr);
}

void kl_faults_stats_reset(kl_faults *f) {
  f->ncounters = 0;
  f->total = 0;
}

/* ---- the injected reply ------------------------------------------------------- */

static char *body_name(const kl_ctx *ctx) {
  if (ctx->name)
    return kl_strdup(ctx->name);
  json_t *j = json_loadb(ctx->req->body, ctx->req->body_len, 0, NULL);
  const char *n = json_string_value(json_object_get(json_object_get(j, "metadata"), "name"));
  char *r = kl_strdup(n ? n : "");
  json_decref(j);
  return r;
}

void kl_fault_reply(kl_ctx *ctx) {
  int code = ctx->fault_code;
  unsigned retry = ctx->fault_retry_after;
  json_t *details = retry ? json_pack("{s:i}", "retryAfterSeconds", (int)retry) : NULL;
  switch (code) {
  case 409: {
    json_decref(details);
    char *name = body_name(ctx);
    kl_reply_conflict(ctx, ctx->res < KL_RES_COUNT ? ctx->res : KL_RES_CONFIGMAPS, name, NULL);
    free(name);
    return;
  }
  case 429:
    if (!details)
      details = json_pack("{s:i}", "retryAfterSeconds", 0);
    kl_reply_status(ctx, 429, "TooManyRequests", "Too many requests, please try again later.",
                    details);
    return;
  case 500:
    json_decref(details);
    kl_reply_status(ctx, 500, "InternalError", "Internal error occurred: kube-lite injected fault",
                    json_pack("{s:[{s:s}]}", "causes", "message", "kube-lite injected fault"));
    return;
  case 503:
    kl_reply_status(ctx, 503, "ServiceUnavailable",
                    "the server is currently unable to handle the request (kube-lite injected "
                    "fault)",
                    details);
    return;
  case 504:
    kl_reply_status(ctx, 504, "Timeout",
                    "the server was unable to return a response in the time allotted "
                    "(kube-lite injected fault)",
                    details);
    return;
  default: {
    static const struct {
      int code;
      const char *reason;
    } reasons[] = {{400, "BadRequest"}, {401, "Unauthorized"}, {403, "Forbidden"},
                   {404, "NotFound"},   {410, "Expired"},      {422, "Invalid"}};
    const char *reason = code >= 500 ? "InternalError" : "BadRequest";
    for (size_t i = 0; i < sizeof reasons / sizeof *reasons; i++)
      if (reasons[i].code == code)
        reason = reasons[i].reason;
    kl_reply_status(ctx, code, reason, "kube-lite injected fault", details);
  }
  }
}
